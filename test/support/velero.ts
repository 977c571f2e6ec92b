import { Cron, Duration, Testing } from 'cdk8s';
import { Retention, VeleroSchedule, VeleroScheduleProps } from '../../src';

/** A nightly Velero schedule, 01:30. */
export const nightly = Cron.schedule({ minute: '30', hour: '1' });

/** The objects one VeleroSchedule (30 days by default, nightly) renders in a fresh chart. */
export function schedules(props: Partial<VeleroScheduleProps> = {}, id = 'apps'): any[] {
  const chart = Testing.chart();
  new VeleroSchedule(chart, id, { schedule: nightly, retention: Retention.maxAge(Duration.days(30)), ...props });
  return Testing.synth(chart);
}

/** The same as `schedules`, by the name the trap tests use. */
export function schedule(props: Partial<VeleroScheduleProps>): any[] {
  return schedules(props);
}
