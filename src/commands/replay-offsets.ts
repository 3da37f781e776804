import { Flags } from '@oclif/core';
import { FltsCommand } from '../cli/base-command.js';
import { operatorName } from '../cli/operator.js';
import { abortOnSignals } from '../cli/stop-signals.js';
import { renderOffsetPlan } from '../cli/screens/offset-plan-table.js';
import { refuseEmptyFlags } from '../core/empty-flags.js';
import { FltsError } from '../core/errors.js';
import { createReplayOffsetsAdmin, encodeOffsetCsv, parseIsoDuration, readPlanFile, replayOffsets, resolveReplayRequest, ROLE_SYNTAX, type GroupDescription, type ReplayOffsetsResult } from '../core/offsets/index.js';
import { assertWritableFile, writeFileWhole } from '../core/write-file-whole.js';

export type ReplayOffsetsCommandResult = ReplayOffsetsResult & { exported_to?: string };

export default class ReplayOffsets extends FltsCommand<ReplayOffsetsCommandResult> {
  static override summary = 'Reset a consumer group\'s committed offsets like kafka-consumer-groups --reset-offsets (dry run by default).';
  static override description =
    'Plans the new offset of every partition in scope (clamped to the partition\'s range) and prints it with the lag before and after. --execute applies it to an empty group with real offsets, reads them back and appends an audit entry to <promotion bucket>/audit/offset-resets/. Date-times without a zone are UTC. Kafka only (KAFKA_BOOTSTRAP_SERVERS): the fs bus (FLTS_BUS=fs) keeps a group\'s offsets in <home>/bus/groups/<group>/<topic>.offset, which this command does not change. --wait says when it begins to wait for an active group, naming its members\' clients. Ctrl-C or SIGTERM before the commit (while --wait waits for the group to empty, or while the plan is made) ends it with FLTS_OFFSETS_ABORTED (exit 5), no offset changed. An --export file that cannot be written is refused before anything is changed.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --role promoter --to-datetime 2025-11-04T09:00:00Z',
    '<%= config.bin %> <%= command.id %> --role trainer:LSTM --to-earliest --execute --reason "retrain after outage"',
    '<%= config.bin %> <%= command.id %> --group eval-promoter --topic model-training:0,2 --shift-by=-10 --export plan.csv',
    '<%= config.bin %> <%= command.id %> --group eval-promoter --from-file plan.csv --execute --wait',
  ];

  static override flags = {
    group: Flags.string({ description: 'Consumer group id.' }),
    role: Flags.string({ description: `flts role whose group to reset: ${ROLE_SYNTAX}.` }),
    topic: Flags.string({ description: 'Topic, or topic:<partition>[,<partition>...]; repeatable. Default with --role: the role\'s topics.', multiple: true }),
    'all-topics': Flags.boolean({ description: 'Every topic the group has committed offsets for.', default: false }),
    'to-earliest': Flags.boolean({ description: 'Target: the log start.' }),
    'to-latest': Flags.boolean({ description: 'Target: the log end.' }),
    'to-current': Flags.boolean({ description: 'Target: the committed offset (the log end where none).' }),
    'to-offset': Flags.integer({ description: 'Target: this offset.' }),
    'shift-by': Flags.integer({ description: 'Target: the committed offset plus N (negative: --shift-by=-N).' }),
    'to-datetime': Flags.string({ description: 'Target: the first offset at or after this ISO-8601 time.' }),
    'by-duration': Flags.string({ description: 'Target: the first offset at or after now minus this ISO-8601 duration (PnDTnHnMnS).' }),
    'from-file': Flags.string({ description: 'Target: a plan CSV (topic,partition,offset), as --export writes it; at most 16 MiB.' }),
    export: Flags.string({ description: 'Write the plan as CSV (Kafka\'s format) to this file.' }),
    execute: Flags.boolean({ description: 'Apply the plan (default: dry run).', default: false }),
    wait: Flags.boolean({ description: 'With --execute: wait until the group has no active members.', default: false }),
    // No oclif default: one given without --wait is refused, not ignored.
    'wait-timeout': Flags.string({ description: 'With --wait: how long it waits (ISO-8601 duration, default PT5M).' }),
    reason: Flags.string({ description: 'Why; stored in the audit entry.' }),
  };

  async run(): Promise<ReplayOffsetsCommandResult> {
    const { flags: f } = await this.parse(ReplayOffsets);
    const { settings } = this.loadSettings(f);
    if (f.wait && !f.execute) throw new FltsError('FLTS_USAGE_INVALID_FLAG', '--wait only applies with --execute.', { details: { flag: 'wait' } });
    if (f['wait-timeout'] !== undefined && !f.wait) throw new FltsError('FLTS_USAGE_INVALID_FLAG', '--wait-timeout only applies with --wait (and --execute): without them nothing waits.', { details: { flag: 'wait-timeout' } });
    refuseEmptyFlags({ export: f.export, 'from-file': f['from-file'] }, 'a file');
    const waitFor = f['wait-timeout'] ?? 'PT5M';
    const wait = f.wait ? { timeoutMs: parseIsoDuration(waitFor, 'wait-timeout', { bounded: true }) } : undefined;
    // Written after the plan, and with --execute after the commit: a path it cannot be written to is refused first,
    // not once the offsets are changed.
    if (f.export !== undefined) await assertWritableFile(f.export);
    const request = resolveReplayRequest(
      { group: f.group, role: f.role, topics: f.topic, allTopics: f['all-topics'], toEarliest: f['to-earliest'], toLatest: f['to-latest'], toCurrent: f['to-current'], toOffset: f['to-offset'], shiftBy: f['shift-by'], toDatetime: f['to-datetime'], byDuration: f['by-duration'], fromFile: f['from-file'] === undefined ? undefined : await readPlanFile(f['from-file']) },
      settings.bus,
    );
    const admin = createReplayOffsetsAdmin(settings, this.logger(settings));
    // A stop while it waits for the group to empty (--wait) ends the wait with nothing changed; the commit of the new
    // offsets, once begun, is short and ends first.
    let waiting = false;
    const abort = abortOnSignals(['SIGINT', 'SIGTERM'], (signal) => new FltsError('FLTS_OFFSETS_ABORTED', `replay-offsets was stopped by ${signal} ${waiting ? 'while it waited for the group to empty' : 'before it committed the new offsets'}: no offset was changed.`, { details: { signal } }));
    try {
      const audit = f.execute ? { store: (await this.dependencies(settings)).store, bucket: settings.store.buckets.promotion } : undefined;
      const operator = operatorName();
      // The wait may last minutes: said as it begins, or the command looks hung.
      const onWaiting = (description: GroupDescription): void => {
        waiting = true;
        const n = description.members.length;
        const clients = [...new Set(description.members.map((member) => member.clientId))].join(', ');
        this.say(`Group ${request.group} has ${n} active member${n === 1 ? '' : 's'} (client ${clients}); waiting up to ${waitFor.trim().toUpperCase()} for it to empty. Ctrl-C stops the wait, with no offset changed.`);
      };
      const result: ReplayOffsetsCommandResult = await replayOffsets({ ...request, execute: f.execute, wait, operator, reason: f.reason }, { admin, audit, signal: abort.signal, onWaiting });
      if (f.export) {
        await writeFileWhole(f.export, encodeOffsetCsv(result.partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.new_offset }))), { onWaitingForReader: this.waitingForReader(settings) });
        result.exported_to = f.export;
      }
      for (const line of renderOffsetPlan(result)) this.say(line);
      if (f.export) this.say(`Plan written to ${f.export}.`);
      return result;
    } finally {
      abort.release();
      await admin.close();
    }
  }
}
