/// Every verifier by the name the CLI and the wire protocol use.
///
/// `isLossless` is what the cluster checks before running one: the lossy entries exist to be
/// compared against (the published SpecTr-GBV code) or as negative controls that the exactness
/// tests must catch, and run only for requests that say `allow_lossy`.
package enum VerifierKind: String, CaseIterable, Sendable {
    case greedy
    case token
    case block
    case rrs
    case rrsWithoutReplacement = "rrs-wor"
    case kseq
    case traversal
    case multidraftBlock = "multidraft-block"
    /// Drafts of several laws (pools), judged as blocks, pool after pool.
    case mixedBlock = "mixed-block"
    /// Drafts of several laws, SpecInfer's recursive rejection with each draft's own law.
    case mixedRRS = "mixed-rrs"
    case spectrGBVPublished = "spectr-gbv-published"
    /// Negative control: block verification with min(1, Π ratios) instead of per-step clipping.
    case brokenBlockUnclipped = "broken-block-unclipped"
    /// Negative control: traversal that visits the leaf of the smallest draft index next.
    case brokenTraversalSmallestIndex = "broken-traversal-smallest-index"

    /// The default for a request that names none: `mixed-block` (equal to `multidraft-block` when
    /// the drafts come from one pool, and to `block` at K = 1), so the drafts of every pool that
    /// pays take part; `greedy` at temperature 0.
    package static func defaultKind(temperature: Double) -> VerifierKind {
        temperature == 0 ? .greedy : .mixedBlock
    }

    /// Parses a name, including the alias `spectr-gbv` for `multidraft-block`.
    package init?(name: String) {
        if name == "spectr-gbv" {
            self = .multidraftBlock
        } else {
            self.init(rawValue: name)
        }
    }

    /// Whether the output law is exactly the target's (proved and tested by exact enumeration).
    package var isLossless: Bool {
        switch self {
        case .spectrGBVPublished, .brokenBlockUnclipped, .brokenTraversalSmallestIndex: false
        default: true
        }
    }

    /// The largest number of drafts per round the verifier uses (the single-draft ones read draft 0).
    package var usesMultipleDrafts: Bool {
        switch self {
        case .token, .block, .brokenBlockUnclipped: false
        default: true
        }
    }

    /// Whether it is lossless for drafts of several laws (`VerificationProblem.pools`); the others
    /// assume every draft was drawn from one law and get drafts of one pool only. Greedy
    /// verification compares argmax paths, so what law a draft came from does not matter to it.
    package var acceptsMixedDrafts: Bool {
        switch self {
        case .greedy, .mixedBlock, .mixedRRS: true
        default: false
        }
    }

    /// Only valid at temperature 0 (it compares argmax paths).
    package var requiresGreedy: Bool { self == .greedy }

    package func makeVerifier() -> any Verifier {
        switch self {
        case .greedy: GreedyVerifier()
        case .token: TokenVerifier()
        case .block: BlockVerifier()
        case .rrs: RecursiveRejectionVerifier(withoutReplacement: false)
        case .rrsWithoutReplacement: RecursiveRejectionVerifier(withoutReplacement: true)
        case .kseq: KSeqVerifier()
        case .traversal: TraversalVerifier(order: .firstAppearance)
        case .multidraftBlock: TraversalVerifier(order: .maxRatio)
        case .mixedBlock: MixedBlockVerifier()
        case .mixedRRS: MixedRecursiveRejectionVerifier()
        case .spectrGBVPublished: PublishedSpecTrGBVVerifier()
        case .brokenBlockUnclipped: BlockVerifier(name: rawValue, clipsEveryStep: false)
        case .brokenTraversalSmallestIndex:
            TraversalVerifier(name: rawValue, order: .firstAppearance, leafRule: .smallestDraftIndex)
        }
    }
}
