#if arch(x86_64)
import CX86

/// What an integer kernel keeps for one token while it reads a weight row: its activations and
/// running sums. Each piece of the row is unpacked once (`Piece`) and handed to every token of a
/// tile; `end` closes an activation group or superblock.
///
/// Batch invariance rests here: a token's state takes the same operations whatever tile it is
/// in, so its result never depends on the batch.
protocol TokenState {
    associatedtype Row
    associatedtype Piece
    associatedtype End
    init(_ x: Row)
    mutating func add(_ piece: Piece)
    mutating func end(_ end: End)
    /// The token's 16 lanes of sums: partial sums whose total (`TileSums`) is its dot product
    /// for the row-at-a-time kernels, one row's result each for `InterleavedDot`.
    var partialSums: __m512 { get }
}

/// The tokens one reading of a weight row serves together: more tokens per unpacked piece save
/// arithmetic, and a pass of 5 should not pay for 8. `TileWidth` picks one for each stretch of a
/// batch.
protocol TokenTile {
    associatedtype State: TokenState
    /// Tokens in the tile (at most 8).
    static var width: Int { get }
    init(_ x: UnsafePointer<State.Row>)
    mutating func add(_ piece: State.Piece)
    mutating func end(_ end: State.End)
    /// Stores the tile's partial sums in `sums` from token `first` on.
    func put(into sums: inout TileSums, at first: Int)
}

extension TokenTile {
    /// The tile's dot products in token order, zero past its width.
    var totals: SIMD8<Float> {
        @inline(__always) get {
            var sums = TileSums()
            put(into: &sums, at: 0)
            return sums.totals(width: Self.width)
        }
    }
}

/// A tile of one token.
struct OneToken<State: TokenState>: TokenTile {
    static var width: Int { 1 }
    var t: State

    @inline(__always) init(_ x: UnsafePointer<State.Row>) { t = State(x[0]) }
    @inline(__always) mutating func add(_ piece: State.Piece) { t.add(piece) }
    @inline(__always) mutating func end(_ end: State.End) { t.end(end) }
    @inline(__always) func put(into sums: inout TileSums, at first: Int) { sums[first] = t.partialSums }
}

/// Two tiles side by side, reading the row once for both: every tile wider than one token.
struct TwoTiles<First: TokenTile, Second: TokenTile>: TokenTile where First.State == Second.State {
    typealias State = First.State
    static var width: Int { First.width + Second.width }
    var first: First, second: Second

    @inline(__always) init(_ x: UnsafePointer<State.Row>) { (first, second) = (First(x), Second(x + First.width)) }

    @inline(__always)
    mutating func add(_ piece: State.Piece) {
        first.add(piece)
        second.add(piece)
    }

    @inline(__always)
    mutating func end(_ end: State.End) {
        first.end(end)
        second.end(end)
    }

    @inline(__always)
    func put(into sums: inout TileSums, at first: Int) {
        self.first.put(into: &sums, at: first)
        second.put(into: &sums, at: first + First.width)
    }
}

typealias TwoTokens<State: TokenState> = TwoTiles<OneToken<State>, OneToken<State>>
typealias FourTokens<State: TokenState> = TwoTiles<TwoTokens<State>, TwoTokens<State>>
typealias ThreeTokens<State: TokenState> = TwoTiles<TwoTokens<State>, OneToken<State>>
typealias FiveTokens<State: TokenState> = TwoTiles<FourTokens<State>, OneToken<State>>
typealias SixTokens<State: TokenState> = TwoTiles<FourTokens<State>, TwoTokens<State>>
typealias SevenTokens<State: TokenState> = TwoTiles<FourTokens<State>, ThreeTokens<State>>
typealias EightTokens<State: TokenState> = TwoTiles<FourTokens<State>, FourTokens<State>>

/// How many tokens the next tile of a batch takes, `remaining` tokens from its end: eight while
/// more than eight remain, then all that are left, so no work is spent on padding. Measured on the
/// 1.5B target, interleaved in one process: eight instead of fours makes passes of 8–16 tokens
/// 11 % faster; a tile of exactly the last tokens instead of a padded one makes passes of 2, 3,
/// 5, 6 tokens 8–21 % faster.
enum TileWidth: Int {
    case one = 1, two, three, four, five, six, seven, eight

    init(remaining: Int) { self.init(rawValue: min(remaining, 8))! }

    /// `operation` on a tile of this width.
    @inline(__always)
    func run<Operation: TileOperation>(_ operation: Operation) -> Operation.Result {
        typealias S = Operation.State
        switch self {
        case .one: return operation(OneToken<S>.self)
        case .two: return operation(TwoTokens<S>.self)
        case .three: return operation(ThreeTokens<S>.self)
        case .four: return operation(FourTokens<S>.self)
        case .five: return operation(FiveTokens<S>.self)
        case .six: return operation(SixTokens<S>.self)
        case .seven: return operation(SevenTokens<S>.self)
        case .eight: return operation(EightTokens<S>.self)
        }
    }

    /// `kernel`'s dot products of the row at `row` with the tile of this width at `x`.
    @inline(__always)
    func dots<K: TileKernel>(_ kernel: K, _ row: UnsafeRawPointer, _ x: UnsafePointer<K.State.Row>) -> SIMD8<Float> {
        run(RowDots(kernel: kernel, row: row, x: x))
    }
}

/// Work on one tile whose width is chosen at run time: `TileWidth.run` calls it with the tile
/// type of that width, so the work is compiled once per width.
protocol TileOperation {
    associatedtype State: TokenState
    associatedtype Result = Void
    func callAsFunction<T: TokenTile>(_ tile: T.Type) -> Result where T.State == State
}

/// A `TileKernel`'s dot products of one row with one tile.
struct RowDots<Kernel: TileKernel>: TileOperation {
    typealias State = Kernel.State
    let kernel: Kernel
    let row: UnsafeRawPointer
    let x: UnsafePointer<Kernel.State.Row>

    @inline(__always)
    func callAsFunction<T: TokenTile>(_ tile: T.Type) -> SIMD8<Float> where T.State == State { kernel.dots(T.self, row, x) }
}

/// A kernel family bound to one matrix (its weight layout and row length): reads a row once for
/// a whole tile of tokens.
protocol TileKernel {
    associatedtype State: TokenState
    func dots<T: TokenTile>(_ tile: T.Type, _ row: UnsafeRawPointer, _ x: UnsafePointer<State.Row>) -> SIMD8<Float> where T.State == State
}
#endif
