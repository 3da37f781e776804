import { Flags } from '@oclif/core';
import { FltsCommand } from '../cli/base-command.js';
import { operatorName } from '../cli/operator.js';
import { refuseOutputInStore } from '../cli/output-over-input.js';
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
    'Plans the new offset of every partition in scope (clamped to the partition\'s range) and prints it with the lag before and after. --execute applies it to an empty group with real offsets, reads them back and appends an audit entry to <promotion bucket>/audit/offset-resets/. Date-times without a zone are UTC. Kafka only (KAFKA_BOOTSTRAP_SERVERS): the fs bus (FLTS_BUS=fs) keeps a group\'s offsets in <home>/bus/groups/<group>/<topic>.offset, which this command does not change. --wait says when it begins to wait for an active group, naming its members\' clients. Ctrl-C or SIGTERM before the commit (while --wait waits for the group to empty, or while the plan is made) ends it with FLTS_OFFSETS_ABORTED (exit 5), no offset changed; so does one while the --export file, a named pipe, waits for its reader, saying whether the offsets were changed (with --execute they were, before the plan is written). An --export file that cannot be written is refused before anything is changed.';
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
    await refuseOutputInStore({ flag: 'export', file: f.export }, settings);
    const request = resolveReplayRequest(
      { group: f.group, role: f.role, topics: f.topic, allTopics: f['all-topics'], toEarliest: f['to-earliest'], toLatest: f['to-latest'], toCurrent: f['to-current'], toOffset: f['to-offset'], shiftBy: f['shift-by'], toDatetime: f['to-datetime'], byDuration: f['by-duration'], fromFile: f['from-file'] === undefined ? undefined : await readPlanFile(f['from-file']) },
      settings.bus,
    );
    const admin = createReplayOffsetsAdmin(settings, this.logger(settings));
    // A stop while it waits for the group to empty (--wait) ends the wait with nothing changed; the commit of the new
    // offsets, once begun, is short and ends first.
    let waiting = false;
    let stoppedBy: NodeJS.Signals | undefined;
    const abort = abortOnSignals(['SIGINT', 'SIGTERM'], (signal) => {
      stoppedBy = signal;
      return new FltsError('FLTS_OFFSETS_ABORTED', `replay-offsets was stopped by ${signal} ${waiting ? 'while it waited for the group to empty' : 'before it committed the new offsets'}: no offset was changed.`, { details: { signal } });
    });
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
        // A stop while the export, a named pipe, waits for its reader ends that wait at once (nothing listened, so it
        // waited out the minute). Said as of now, not as of the stop's arrival: a stop during the commit let it end
        // first, and with --execute the offsets are changed by the time the plan is written.
        const file = f.export;
        const exportStop = new AbortController();
        const onStop = (): void => exportStop.abort(exportStopped(stoppedBy ?? 'SIGINT', file, result));
        if (abort.signal.aborted) onStop();
        else abort.signal.addEventListener('abort', onStop, { once: true });
        await writeFileWhole(file, encodeOffsetCsv(result.partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.new_offset }))), { onWaitingForReader: this.waitingForReader(settings), signal: exportStop.signal });
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

/** A stop while --export, a named pipe, waited for its reader: no byte of the plan was written, the offsets as `result` left them. */
function exportStopped(signal: NodeJS.Signals, file: string, result: ReplayOffsetsResult): FltsError {
  const details = { signal, export: file, written: false, offsets_changed: result.executed, ...(result.audit_key ? { audit_key: result.audit_key } : {}) };
  if (!result.executed) {
    return new FltsError('FLTS_OFFSETS_ABORTED', `replay-offsets was stopped by ${signal} while --export ${file} waited for its reader: no offset was changed (a dry run) and the plan was not written.`, { details });
  }
  return new FltsError('FLTS_OFFSETS_ABORTED', `replay-offsets was stopped by ${signal} while --export ${file} waited for its reader, after it committed the new offsets of group ${result.group} (audited at ${result.audit_key}): the offsets were changed and the plan was not written.`, {
    details,
    hint: `The reset is done and audited; do not run it again to get the plan (a relative target would move the offsets again): the same --group and --topic with --to-current --export ${file}, a dry run, writes the group's offsets as they are now.`,
  });
}
