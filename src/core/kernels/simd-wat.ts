/**
 * The WebAssembly text of flts's training kernels on 128-bit SIMD: a row-major matrix multiply, an in-place
 * logistic sigmoid, and the Adam update. Generated rather than written out because the multiply is the same register tile
 * repeated for a few widths.
 *
 * Why our own multiply instead of the tfjs wasm backend's: tfjs hands every multiply to XNNPACK's fully
 * connected operator, which repacks its right-hand matrix whenever that matrix is a new tensor (~80 us plus
 * ~8 ns per element here). In training every weight matrix is new each step and every gradient multiply has
 * two new operands, so repacking cost as much as the arithmetic. This kernel reads both operands in place:
 * for a tile of 4 output rows x 8 columns it broadcasts one value of each A row and multiplies it with 8
 * contiguous values of a B row, accumulating in 8 vector registers; no packing, no copies, no dispatch.
 */

/** Output rows per register tile. 4 x 8 keeps 8 accumulators + 2 B vectors + 1 broadcast in registers. */
export const TILE_ROWS = 4;

type TileWidth = 8 | 4 | 1;

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * One register tile: rows x width outputs over the whole shared dimension. A's element (row r, step s) is at
 * pa + r * aRow + s * aStep (bytes), so the same tile serves A and A transposed; B rows are ldb bytes apart.
 */
function tile(rows: number, width: TileWidth, fused: boolean): string {
  const vectors = width === 1 ? 1 : width / 4;
  const scalar = width === 1;
  // c + a b: one relaxed fused multiply-add where the module may use them (a vfmadd on x64 and arm64), else a multiply and an add.
  const multiplyAdd = (c: string, a: string, b: string): string =>
    fused && !scalar ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(${scalar ? 'f32.add' : 'f32x4.add'} ${c} (${scalar ? 'f32.mul' : 'f32x4.mul'} ${a} ${b}))`;
  const type = scalar ? 'f32' : 'v128';
  const zero = scalar ? '(f32.const 0)' : '(v128.const i32x4 0 0 0 0)';
  const loadB = (v: number) => (scalar ? `(f32.load (local.get $pb))` : `(v128.load offset=${16 * v} (local.get $pb))`);
  const loadA = (r: number) => (scalar ? `(f32.load (local.get $pa${r}))` : `(v128.load32_splat (local.get $pa${r}))`);
  const store = (r: number, v: number) =>
    scalar
      ? `(f32.store (i32.add (local.get $pc) (i32.mul (i32.const ${r}) (local.get $ldc))) (local.get $c${r}_${v}))`
      : `(v128.store offset=${16 * v} (i32.add (local.get $pc) (i32.mul (i32.const ${r}) (local.get $ldc))) (local.get $c${r}_${v}))`;
  const accumulators = range(rows).flatMap((r) => range(vectors).map((v) => `$c${r}_${v}`));
  return `
  (func $tile_${rows}x${width} (param $pa i32) (param $pb i32) (param $pc i32) (param $k i32)
      (param $aRow i32) (param $aStep i32) (param $ldb i32) (param $ldc i32)
    ${range(rows).map((r) => `(local $pa${r} i32)`).join(' ')}
    ${accumulators.map((name) => `(local ${name} ${type})`).join(' ')}
    ${range(vectors).map((v) => `(local $b${v} ${type})`).join(' ')} (local $a ${type})
    ${accumulators.map((name) => `(local.set ${name} ${zero})`).join(' ')}
    ${range(rows).map((r) => `(local.set $pa${r} (i32.add (local.get $pa) (i32.mul (i32.const ${r}) (local.get $aRow))))`).join(' ')}
    (block $done
      (br_if $done (i32.eqz (local.get $k)))
      (loop $step
        ${range(vectors).map((v) => `(local.set $b${v} ${loadB(v)})`).join(' ')}
        ${range(rows)
          .map(
            (r) => `(local.set $a ${loadA(r)})
        ${range(vectors).map((v) => `(local.set $c${r}_${v} ${multiplyAdd(`(local.get $c${r}_${v})`, '(local.get $a)', `(local.get $b${v})`)})`).join(' ')}
        (local.set $pa${r} (i32.add (local.get $pa${r}) (local.get $aStep)))`,
          )
          .join('\n        ')}
        (local.set $pb (i32.add (local.get $pb) (local.get $ldb)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br_if $step (local.get $k))))
    ${range(rows).flatMap((r) => range(vectors).map((v) => store(r, v))).join('\n    ')})`;
}

/**
 * Output columns [j, j + width) for every row: full row tiles, then the remaining rows one at a time. The
 * tiles read B from $panel with rows $panelStride bytes apart (B itself, or a packed copy of its columns).
 */
function columnPanel(width: TileWidth): string {
  const call = (rows: number) => `(call $tile_${rows}x${width}
          (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $aRow)))
          (local.get $panel)
          (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 2))))
          (local.get $k) (local.get $aRow) (local.get $aStep) (local.get $panelStride) (local.get $ldc))`;
  return `
      (local.set $i (i32.const 0))
      (block $tiles_done (loop $tiles
        (br_if $tiles_done (i32.gt_u (i32.add (local.get $i) (i32.const ${TILE_ROWS})) (local.get $m)))
        ${call(TILE_ROWS)}
        (local.set $i (i32.add (local.get $i) (i32.const ${TILE_ROWS})))
        (br $tiles)))
      (block $rows_done (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
        ${call(1)}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))`;
}

/** Points $panel at columns [j, j + width) of B as they are. */
const inPlacePanel = `
      (local.set $panel (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $panelStride (local.get $ldb))`;

/**
 * Copies columns [j, j + 8) of B into contiguous 32-byte rows at $pack and points $panel there. B rows of
 * 1 KB or more apart map onto a few L1 sets, so the panel would not stay cached across row tiles.
 */
const packedPanel = `
      (local.set $panel (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $panelStride (local.get $pack))
      (local.set $s (local.get $k))
      (block $pack_done (loop $pack_rows
        (br_if $pack_done (i32.eqz (local.get $s)))
        (v128.store (local.get $panelStride) (v128.load (local.get $panel)))
        (v128.store offset=16 (local.get $panelStride) (v128.load offset=16 (local.get $panel)))
        (local.set $panel (i32.add (local.get $panel) (local.get $ldb)))
        (local.set $panelStride (i32.add (local.get $panelStride) (i32.const 32)))
        (local.set $s (i32.sub (local.get $s) (i32.const 1)))
        (br $pack_rows)))
      (local.set $panel (local.get $pack))
      (local.set $panelStride (i32.const 32))`;

/**
 * gemm(a, aRow, aStep, b, ldb, c, ldc, m, k, n, pack): C[m, n] = A[m, k] B[k, n] with A's element (i, s) at
 * a + 4 (i aRow + s aStep): aRow = lda, aStep = 1 for A as stored; aRow = 1, aStep = lda for A transposed.
 * Addresses in bytes, strides in elements. C is overwritten. With pack != 0 (32 k bytes of scratch there),
 * each 8-column panel of B is first copied into contiguous rows.
 */
function gemm(): string {
  return `
  (func (export "gemm") (param $a i32) (param $aRow i32) (param $aStep i32) (param $b i32) (param $ldb i32)
      (param $c i32) (param $ldc i32) (param $m i32) (param $k i32) (param $n i32) (param $pack i32)
    (local $i i32) (local $j i32) (local $s i32) (local $panel i32) (local $panelStride i32)
    (local.set $aRow (i32.shl (local.get $aRow) (i32.const 2)))
    (local.set $aStep (i32.shl (local.get $aStep) (i32.const 2)))
    (local.set $ldb (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $ldc (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $j (i32.const 0))
    (block $wide_done (loop $wide
      (br_if $wide_done (i32.gt_u (i32.add (local.get $j) (i32.const 8)) (local.get $n)))
      (if (local.get $pack) (then ${packedPanel}) (else ${inPlacePanel}))
      ${columnPanel(8)}
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br $wide)))
    (if (i32.le_u (i32.add (local.get $j) (i32.const 4)) (local.get $n))
      (then
        ${inPlacePanel}
        ${columnPanel(4)}
        (local.set $j (i32.add (local.get $j) (i32.const 4)))))
    (block $narrow_done (loop $narrow
      (br_if $narrow_done (i32.ge_u (local.get $j) (local.get $n)))
      ${inPlacePanel}
      ${columnPanel(1)}
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $narrow))))`;
}

/**
 * sigmoid(p, groups): the logistic sigmoid of 4 * groups floats at byte address p, in place.
 * With z = -|x|: e = exp(z) in (0, 1] never overflows, s = e / (1 + e), and sigmoid(x) = x > 0 ? 1 - s : s.
 * exp(z) = 2^n e^r with n = round(z / ln 2), r = z - n ln 2 (ln 2 in two parts), e^r by its degree-6 Taylor
 * polynomial (|r| <= 0.35: relative error < 2e-7), 2^n by writing n + 127 into the exponent bits. z is
 * clamped at -87 so 2^n stays a normal float; sigmoid(-87) ~ 1.6e-38 is zero for every purpose here.
 */
function sigmoid(): string {
  const f = (value: number) => `(f32x4.splat (f32.const ${value}))`;
  const coefficients = [1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1];
  let polynomial = f(coefficients[0]);
  for (const c of coefficients.slice(1)) polynomial = `(f32x4.add (f32x4.mul ${polynomial} (local.get $r)) ${f(c)})`;
  return `
  (func (export "sigmoid") (param $p i32) (param $groups i32)
    (local $x v128) (local $z v128) (local $n v128) (local $r v128) (local $e v128) (local $s v128)
    (block $done
      (br_if $done (i32.eqz (local.get $groups)))
      (loop $group
        (local.set $x (v128.load (local.get $p)))
        (local.set $z (f32x4.max (f32x4.neg (f32x4.abs (local.get $x))) ${f(-87)}))
        (local.set $n (f32x4.nearest (f32x4.mul (local.get $z) ${f(Math.LOG2E)})))
        (local.set $r (f32x4.sub (f32x4.sub (local.get $z) (f32x4.mul (local.get $n) ${f(0.693145751953125)}))
          (f32x4.mul (local.get $n) ${f(1.428606765330187e-6)})))
        (local.set $e (f32x4.mul ${polynomial}
          (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (i32x4.splat (i32.const 127))) (i32.const 23))))
        (local.set $s (f32x4.div (local.get $e) (f32x4.add ${f(1)} (local.get $e))))
        (v128.store (local.get $p)
          (v128.bitselect (f32x4.sub ${f(1)} (local.get $s)) (local.get $s) (f32x4.gt (local.get $x) ${f(0)})))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $groups (i32.sub (local.get $groups) (i32.const 1)))
        (br_if $group (local.get $groups)))))`;
}

/**
 * adam(w, g, m, v, groups, c1, c2, beta1, beta2, epsilon): one Adam update of 4 * groups parameters in place,
 * as tfjs computes it: m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2,
 * w -= c1 m / (sqrt(c2 v) + epsilon) with c1 = lr / (1 - beta1^t), c2 = 1 / (1 - beta2^t).
 * Scalar JS spends ~11 ns a parameter here, mostly waiting on the square root and the division.
 */
function adam(): string {
  const splat = (name: string) => `(f32x4.splat (local.get $${name}))`;
  return `
  (func (export "adam") (param $w i32) (param $g i32) (param $m i32) (param $v i32) (param $groups i32)
      (param $c1 f32) (param $c2 f32) (param $beta1 f32) (param $beta2 f32) (param $epsilon f32)
    (local $grad v128) (local $first v128) (local $second v128) (local $offset i32) (local $end i32)
    (local.set $end (i32.shl (local.get $groups) (i32.const 4)))
    (block $done (loop $group
      (br_if $done (i32.ge_u (local.get $offset) (local.get $end)))
      (local.set $grad (v128.load (i32.add (local.get $g) (local.get $offset))))
      (local.set $first (f32x4.add (f32x4.mul ${splat('beta1')} (v128.load (i32.add (local.get $m) (local.get $offset))))
        (f32x4.mul (f32x4.sub (f32x4.splat (f32.const 1)) ${splat('beta1')}) (local.get $grad))))
      (local.set $second (f32x4.add (f32x4.mul ${splat('beta2')} (v128.load (i32.add (local.get $v) (local.get $offset))))
        (f32x4.mul (f32x4.sub (f32x4.splat (f32.const 1)) ${splat('beta2')}) (f32x4.mul (local.get $grad) (local.get $grad)))))
      (v128.store (i32.add (local.get $m) (local.get $offset)) (local.get $first))
      (v128.store (i32.add (local.get $v) (local.get $offset)) (local.get $second))
      (v128.store (i32.add (local.get $w) (local.get $offset))
        (f32x4.sub (v128.load (i32.add (local.get $w) (local.get $offset)))
          (f32x4.div (f32x4.mul ${splat('c1')} (local.get $first))
            (f32x4.add (f32x4.sqrt (f32x4.mul ${splat('c2')} (local.get $second))) ${splat('epsilon')}))))
      (local.set $offset (i32.add (local.get $offset) (i32.const 16)))
      (br $group))))`;
}

/** add(dst, src, groups): dst += src over 4 * groups floats. */
function add(): string {
  return `
  (func (export "add") (param $dst i32) (param $src i32) (param $groups i32)
    (block $done (loop $group
      (br_if $done (i32.eqz (local.get $groups)))
      (v128.store (local.get $dst) (f32x4.add (v128.load (local.get $dst)) (v128.load (local.get $src))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $groups (i32.sub (local.get $groups) (i32.const 1)))
      (br $group))))`;
}

/** The assembled forms of the module, each a file beside the compiled kernels (`npm run build` writes them). */
export const SIMD_KERNEL_FILES = {
  /** 128-bit SIMD only: every runtime with WebAssembly SIMD (Node 16.4+). */
  simd: 'simd-kernels.wasm',
  /** The multiply's accumulation as relaxed-SIMD fused multiply-adds (Node 22+, where WebAssembly.validate accepts it). */
  relaxed: 'simd-kernels-relaxed.wasm',
} as const;

/**
 * The whole module; it imports its memory so the host can size it and keep views on it. With `fused`, the
 * multiply accumulates with relaxed-SIMD fused multiply-adds: one rounding instead of two per step, so its
 * results may differ from the plain module's in the last bits (both are within float tolerance of the reference).
 */
export function simdKernelsWat(fused = false): string {
  const tiles = [TILE_ROWS, 1].flatMap((rows) => ([8, 4, 1] as const).map((width) => tile(rows, width, fused)));
  return `(module
  (import "env" "memory" (memory 1))
  ${tiles.join('\n')}
  ${gemm()}
  ${sigmoid()}
  ${adam()}
  ${add()})`;
}
