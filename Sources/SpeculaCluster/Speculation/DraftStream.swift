import SpeculaCore
import SpeculaNet

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
    /// The worker (peer id) drafting it.
    let worker: UInt64
    /// Its pool in the round (`GenerationRequest.roundPools`): the law its rows come from.
    let pool: Int
    /// A model-free worker's draft: point masses only, and it renews itself — where it disagrees
    /// with the context (or had nothing to propose) it starts again from the accepted context as
    /// its next generation, on both sides of the wire, instead of dying. A point mass is a valid
    /// draft law whatever it proposes, so this changes no law. The request never waits for it:
    /// its tokens come at once or not at all.
    let renews: Bool
    /// Renewals so far; tokens of older generations (still in flight) are ignored.
    private(set) var generation: UInt32 = 0
    /// Renewed, and its new base not known yet (the worker's first token of the generation says).
    private var awaitingBase = false
    /// Renewed after it had nothing to propose: its worker proposes again only after the next
    /// `Accepted`, so nothing of it is on its way.
    private var dormant = false

    /// Renewed after it disagreed with the context: its worker, told by the same `Accepted`,
    /// proposes from the new context at once, so its first token is worth the round trip.
    var isRenewing: Bool { awaitingBase && !dormant }
    /// How far past the accepted context the worker was asked to draft.
    let lookahead: Int
    /// Context position of its first token kept (tokens the context has long passed are dropped).
    private(set) var base: Int
    private(set) var tokens: [Token] = []
    private(set) var rows: [SparseDistribution] = []
    private(set) var alive = true
    /// Tokens received so far (kept or dropped).
    private(set) var received = 0
    /// The draft's random stream, as the worker consumes it: one draw per token.
    private var choices: StreamChoices

    /// Why a delivery broke the rules (the draft ends, and it counts against the worker).
    enum Fault: CustomStringConvertible {
        /// Tokens past the lookahead (how many).
        case pastLookahead(Int)
        /// A token that its row and random stream do not produce.
        case notRedrawn
        /// No tokens, too many, an invalid row, or a token outside its row.
        case malformed

        var description: String {
            switch self {
            case .pastLookahead: "draft tokens past the lookahead it was asked for"
            case .notRedrawn: "a draft token that its row and random stream do not produce"
            case .malformed: "a malformed draft block (no tokens, too many, an invalid row, or a token outside its row)"
            }
        }
    }

    init(worker: UInt64, pool: Int, renews: Bool = false, base: Int, lookahead: Int, stream: RandomStream) {
        (self.worker, self.pool, self.renews) = (worker, pool, renews)
        self.base = base
        self.lookahead = lookahead
        self.choices = StreamChoices(stream)
    }

    /// Takes a delivery (`parsed`: its tokens and rows, nil when malformed) against `context`; an
    /// `ended` delivery with no tokens ends the draft where it stands.
    /// Tokens past the lookahead are checked first, whether the draft is still alive or not: the
    /// worker's context is never ahead of the coordinator's, so no correct worker drafts there. A
    /// gap (a block lost on an overfull connection) only ends the draft; `trusting` skips the
    /// redraw (a test's negative control).
    mutating func receive(_ block: DraftToken, parsed: (tokens: [Token], rows: [SparseDistribution])?, context: [Token],
                          trusting: Bool) -> Fault? {
        let past = Int(block.basePosition) + block.tokens.count - (context.count + lookahead)
        guard past <= 0 else {
            stop()
            return .pastLookahead(min(past, block.tokens.count))
        }
        guard alive else { return nil }
        if renews {
            guard block.generation >= generation else { return nil }  // an older generation's, in flight
            guard block.generation == generation else {
                stop()
                return nil
            }
            if awaitingBase { (base, awaitingBase, dormant) = (Int(block.basePosition), false, false) }
        }
        guard Int(block.basePosition) == nextPosition else {
            stop()
            return nil
        }
        if block.ended, block.tokens.isEmpty {
            // Its drafter has nothing to propose here.
            if renews { renew(dormant: true) } else { stop() }
            return nil
        }
        guard let parsed, !renews || parsed.rows.allSatisfy({ $0.count == 1 }) else {
            stop()
            return .malformed
        }
        for (token, row) in zip(parsed.tokens, parsed.rows) {
            guard trusting || choices.draw(from: row) == token else {
                stop()
                return .notRedrawn
            }
            tokens.append(token)
            rows.append(row)
            received += 1
            check(against: context)
            if awaitingBase { break }  // renewed: the rest of the block belongs to the old generation
        }
        return nil
    }

    /// The position its next token will have.
    var nextPosition: Int { base + tokens.count }

    /// Ends (or renews) the draft if a token of it differs from the context at the same position;
    /// drops the tokens before the context's last (checked, and no pass needs them again).
    mutating func check(against context: [Token]) {
        guard Self.agrees(tokens, base: base, with: context) else { return renews ? renew() : stop() }
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

    /// Starts the next generation: no tokens until the worker's first one of it says where.
    private mutating func renew(dormant: Bool = false) {
        (tokens, rows, awaitingBase, self.dormant) = ([], [], true, dormant)
        generation += 1
    }

    /// How many of its tokens lie at `position` or later.
    func available(from position: Int) -> Int { max(0, nextPosition - max(position, base)) }

    /// Its `count` tokens from `position` on, with their rows.
    func slice(from position: Int, count: Int) -> (tokens: [Token], rows: [SparseDistribution]) {
        let start = position - base
        return (Array(tokens[start..<start + count]), Array(rows[start..<start + count]))
    }
}
