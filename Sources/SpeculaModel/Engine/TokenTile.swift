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
    var total: Float { get }
}

/// The tokens one reading of a weight row serves together: more tokens per unpacked piece save
/// arithmetic, but a pass of 5 should not pay for 8. `TileWidth` picks one for each stretch of a
/// batch.
protocol TokenTile {
    associatedtype State: TokenState
    /// Tokens in the tile (at most 8).
    static var width: Int { get }
    init(_ x: UnsafePointer<State.Row>)
    mutating func add(_ piece: State.Piece)
    mutating func end(_ end: State.End)
    /// The tile's dot products in token order, zero past its width.
    var totals: SIMD8<Float> { get }
}

/// A tile of one token.
struct OneToken<State: TokenState>: TokenTile {
    static var width: Int { 1 }
    var t: State

    @inline(__always) init(_ x: UnsafePointer<State.Row>) { t = State(x[0]) }
    @inline(__always) mutating func add(_ piece: State.Piece) { t.add(piece) }
    @inline(__always) mutating func end(_ end: State.End) { t.end(end) }
    var totals: SIMD8<Float> { @inline(__always) get { SIMD8(t.total, 0, 0, 0, 0, 0, 0, 0) } }
}

/// A tile of four tokens.
struct FourTokens<State: TokenState>: TokenTile {
    static var width: Int { 4 }
    var t0: State, t1: State, t2: State, t3: State

    @inline(__always)
    init(_ x: UnsafePointer<State.Row>) { (t0, t1, t2, t3) = (State(x[0]), State(x[1]), State(x[2]), State(x[3])) }

    @inline(__always)
    mutating func add(_ piece: State.Piece) {
        t0.add(piece)
        t1.add(piece)
        t2.add(piece)
        t3.add(piece)
    }

    @inline(__always)
    mutating func end(_ end: State.End) {
        t0.end(end)
        t1.end(end)
        t2.end(end)
        t3.end(end)
    }

    var totals: SIMD8<Float> { @inline(__always) get { SIMD8(t0.total, t1.total, t2.total, t3.total, 0, 0, 0, 0) } }
}

/// Two tiles side by side, reading the row once for both: `FiveTokens`, `EightTokens`.
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

    var totals: SIMD8<Float> {
        @inline(__always) get {
            var t = first.totals
            let s = second.totals
            for i in 0..<Second.width { t[First.width + i] = s[i] }
            return t
        }
    }
}

/// Four tokens and a fifth: a verification pass of γ + 1 = 5 without a second reading of each
/// row for its last token.
typealias FiveTokens<State: TokenState> = TwoTiles<FourTokens<State>, OneToken<State>>

typealias EightTokens<State: TokenState> = TwoTiles<FourTokens<State>, FourTokens<State>>

/// How many tokens the next tile of a batch takes, `remaining` tokens from its end: eight while
/// six or more remain (the padding's results dropped), five for five, four for two to four, one
/// for the last. Measured on the 1.5B target: eight instead of fours makes passes of 8–16 tokens
/// 11 % faster; the last token of five alone cost half as much as the other four together.
enum TileWidth: Int {
    case one = 1, four = 4, five = 5, eight = 8

    init(remaining: Int) {
        switch remaining {
        case 6...: self = .eight
        case 5: self = .five
        case 2...4: self = .four
        default: self = .one
        }
    }
}
