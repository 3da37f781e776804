/**
 * The tables of a scoreboard ranked per target set, drawn the one way for both boards (`flts eval` and
 * `flts eval --source mlflow`): rows are grouped by the target set they carry, in board order, each group under a
 * line naming the set, how many runs it has and whether promotion chooses from it, and every table shares one set of
 * column widths, so the boards line up.
 */

export interface TargetSetCount {
  /** Sorted; null for runs that name no targets (a reference trainer's MLflow runs). */
  targets: string[] | null;
  runs: number;
}

export interface TargetSetTablesOptions<Row> {
  /** The first line's text, closed by the tables' description. */
  title: string;
  /** The column names of a table, given its rows (a column may name the set's first target). */
  header: (rows: readonly Row[]) => string[];
  rows: readonly Row[];
  cells: (row: Row) => string[];
  /** The row's target set; undefined for rows of an flts before target sets, ranked as one board. */
  targetsOf: (row: Row) => readonly string[] | null | undefined;
  /** The boards the ranking made, with their run counts (rows may show fewer); absent when it ranked every row as one. */
  sets: readonly TargetSetCount[] | undefined;
  /** The configured targets (`training.targets`). */
  configured: readonly string[] | null | undefined;
  /** How a set's runs were ranked, after "ranked among themselves". */
  rankedAgainst?: string;
}

const nameOf = (targets: readonly string[] | null | undefined): string | null => (targets ? [...targets].sort().join(',') : null);

/** The rows of each target set, in board order (rows of one set follow each other). */
export function groupByTargetSet<Row>(rows: readonly Row[], targetsOf: (row: Row) => readonly string[] | null | undefined): { name: string | null; rows: Row[] }[] {
  const groups: { name: string | null; rows: Row[] }[] = [];
  for (const row of rows) {
    const name = nameOf(targetsOf(row));
    const last = groups.at(-1);
    if (last !== undefined && last.name === name) last.rows.push(row);
    else groups.push({ name, rows: [row] });
  }
  return groups;
}

export function renderTargetSetTables<Row>(options: TargetSetTablesOptions<Row>): string[] {
  const all = options.rows.map(options.cells);
  // A ranking that lists no target sets (a board an older flts wrote as JSON) ranked its rows as one: one table.
  const groups = options.sets ? groupByTargetSet(options.rows, options.targetsOf) : [];
  const headers = groups.length <= 1 ? [options.header(options.rows)] : groups.map((group) => options.header(group.rows));
  const widths = headers[0].map((_, i) => Math.max(...headers.map((header) => header[i].length), ...all.map((row) => row[i].length)));
  const line = (row: string[]): string => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  if (groups.length <= 1) {
    const only = groups[0] && (groups[0].name === null ? 'not logged' : groups[0].name);
    return [`${options.title}${only ? `; targets ${only}` : ''})`, line(headers[0]), ...all.map(line)];
  }
  const configured = nameOf(options.configured);
  const runsOf = new Map((options.sets ?? []).map((set) => [nameOf(set.targets), set.runs]));
  let next = 0;
  const sections = groups.flatMap(({ name, rows }, index) => {
    const cells = all.slice(next, next + rows.length);
    next += rows.length;
    const runs = runsOf.get(name) ?? rows.length;
    const what = name === null ? "targets not logged (reference trainers' runs)" : `targets ${name}`;
    const chosen = name !== null && name === configured ? '; the configured targets: promote --best and automatic promotion choose from these' : '';
    return ['', `${what}: ${runs} run(s), ranked among themselves${options.rankedAgainst ? ` ${options.rankedAgainst}` : ''}${chosen}`, line(headers[index]), ...cells.map(line)];
  });
  return [`${options.title}; ${groups.length} target sets, one board each)`, ...sections];
}
