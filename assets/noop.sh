#!/bin/sh
# shellcheck disable=SC3040 # pipefail: busybox ash (restic image) and bash (etcd image) have it
set -euo pipefail
