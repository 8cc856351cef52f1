import SpeculaCore

/// One draft of a round as it streams in from its worker, a token at a time: the tokens from
/// `base` (a context position) on and the rows they were drawn from. It lives as long as its
/// tokens agree with the request's context; a token that disagrees (the verifier chose another)
/// ends it.
///
/// Why a live draft's tokens past the context are a fair draft for it: the worker drew each token
/// on the draft's own random stream from the row shipped with it, after the tokens before it, so
/// given that its tokens so far equal the context, the rest is a draft from exactly that context,
/// independent of how the context was chosen. Which drafts take part in a pass, and how many of
/// their tokens, depends only on what has arrived when the pass starts.
///
/// Workers are checked, not trusted: the coordinator knows the draft's random stream, so it
/// draws each arriving token again from the row shipped with it (`redraws`); a token that its row
/// and stream do not produce is a lie or a bug, and ends the draft.
struct DraftStream {
    /// The worker (connection id) drafting it.
    let worker: UInt64
    /// How far past the accepted context the worker was asked to draft.
    let lookahead: Int
    /// Context position of its first token kept (tokens the context has long passed are dropped).
    private(set) var base: Int
    var tokens: [Token] = []
    var rows: [SparseDistribution] = []
    private(set) var alive = true
    /// The draft's random stream, as the worker consumes it: one draw per token.
    private var choices: StreamChoices

    init(worker: UInt64, base: Int, lookahead: Int, stream: RandomStream) {
        self.worker = worker
        self.base = base
        self.lookahead = lookahead
        self.choices = StreamChoices(stream)
    }

    /// Whether `token` is what the draft's stream draws from `row` at its next position (the
    /// worker's own draw, repeated). Consumes that draw.
    mutating func redraws(_ token: Token, from row: SparseDistribution) -> Bool {
        choices.draw(from: row) == token
    }

    /// The position its next token will have.
    var nextPosition: Int { base + tokens.count }

    /// Appends the next token, then checks it against `context`.
    mutating func append(_ token: Token, row: SparseDistribution, context: [Token]) {
        tokens.append(token)
        rows.append(row)
        check(against: context)
    }

    /// Ends the draft if a token of it differs from the context at the same position; drops the
    /// tokens before the context's last (checked, and no pass needs them again).
    mutating func check(against context: [Token]) {
        if !Self.agrees(tokens, base: base, with: context) { alive = false }
        let overlap = max(0, min(tokens.count, context.count - base))
        let consumed = max(0, min(overlap, context.count - 1 - base))
        tokens.removeFirst(consumed)
        rows.removeFirst(consumed)
        base += consumed
    }

    /// Whether draft tokens starting at context position `base` match `context` wherever both
    /// have a token (the coordinator's and the worker's test of whether a draft goes on).
    static func agrees(_ tokens: [Token], base: Int, with context: [Token]) -> Bool {
        let overlap = max(0, min(tokens.count, context.count - base))
        return tokens[..<overlap].elementsEqual(context[base..<base + overlap])
    }

    /// Ends the draft (its worker left, or missed a deadline).
    mutating func stop() { alive = false }

    /// How many of its tokens lie at `position` or later.
    func available(from position: Int) -> Int { max(0, nextPosition - max(position, base)) }

    /// Its `count` tokens from `position` on, with their rows.
    func slice(from position: Int, count: Int) -> (tokens: [Token], rows: [SparseDistribution]) {
        let start = position - base
        return (Array(tokens[start..<start + count]), Array(rows[start..<start + count]))
    }
}
