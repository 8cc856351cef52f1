/// A dense target row after residual steps that only touched a few tokens.
///
/// Every residual a verifier takes at a tree node has the form `(w·q̂ − p̂)_+`, where the draft law
/// p̂ lives on the draft's sparse support S. Outside S the residual is just `w·q̂`, a multiple of the
/// original row. So q̂ is stored as the original row `base`, one scale for everything outside S,
/// and explicit values on S: a residual step costs O(|S|), never O(vocab) (verifiers.md, block
/// verification with sparse p). Values are kept normalised.
package struct PatchedDistribution: TokenLaw, Sendable {
    /// The original row q(·|node).
    package let base: DenseDistribution
    /// The patched tokens S (a draft support), in the order the draft shipped them.
    package let patchTokens: [Token]
    /// q̂ on S, aligned with `patchTokens`.
    package private(set) var patch: [Double]
    /// q̂(x) = `outsideScale · base(x)` for x outside S.
    package private(set) var outsideScale: Double
    /// Σ_{x∉S} base(x), computed once.
    private let baseOutsideMass: Double

    /// q̂ = `base`, with `patchTokens` (no duplicates) held explicitly.
    package init(base: DenseDistribution, patchTokens: [Token]) {
        self.init(base: base, patchTokens: patchTokens, patch: patchTokens.map { base.probability(of: $0) }, outsideScale: 1)
    }

    private init(base: DenseDistribution, patchTokens: [Token], patch: [Double], outsideScale: Double) {
        (self.base, self.patchTokens, self.patch, self.outsideScale) = (base, patchTokens, patch, outsideScale)
        let inside = patchTokens.reduce(0) { $0 + base.probability(of: $1) }
        self.baseOutsideMass = patchTokens.count >= base.vocabularySize ? 0 : max(0, 1 - inside)
    }

    /// The same law held explicitly on `support` first (in its order, so a draft law on `support`
    /// aligns with `patch`), then on the tokens patched before that `support` lacks (a draft law
    /// gives them 0). A verifier that turns from one draft law to another at a node (drafts of
    /// several pools) re-patches the node's residual on the next law's support.
    package func repatched(on support: [Token]) -> PatchedDistribution {
        let extra = patchTokens.filter { !support.contains($0) }
        let tokens = support + extra
        return PatchedDistribution(base: base, patchTokens: tokens, patch: tokens.map(probability(of:)), outsideScale: outsideScale)
    }

    /// The mass q̂ puts outside S.
    package var outsideMass: Double { outsideScale * baseOutsideMass }

    /// Replaces q̂ by `norm(f)`, where f = `outsideFactor · q̂` outside S and `patchValue(i, q̂(S_i))`
    /// on S (negative values count as 0). Returns the mass of f before normalising; when it is not
    /// positive, q̂ is left unchanged and the caller must not sample from the result.
    @discardableResult
    package mutating func transform(
        outsideFactor: Double, patchValue: (Int, Double) -> Double
    ) -> Double {
        var newPatch = patch
        var total = outsideFactor * outsideMass
        for i in newPatch.indices {
            let v = max(0, patchValue(i, patch[i]))
            newPatch[i] = v
            total += v
        }
        guard total > 0, total.isFinite else { return 0 }
        for i in newPatch.indices { newPatch[i] /= total }
        patch = newPatch
        outsideScale = outsideScale * outsideFactor / total
        return total
    }

    /// The residual mass Σ_x (w·q̂(x) − p̂(x))_+ for a draft law p̂ on S (aligned with
    /// `patchTokens`; a shorter p̂ is 0 on the rest), without changing anything.
    package func residualMass(weight w: Double, draft: [Double]) -> Double {
        var total = w * outsideMass
        for i in patch.indices { total += max(0, w * patch[i] - (i < draft.count ? draft[i] : 0)) }
        return total
    }

    /// q̂ ← norm((w·q̂ − p̂)_+) for a draft law p̂ on S; returns the mass before normalising
    /// (0: nothing left, q̂ unchanged).
    @discardableResult
    package mutating func subtractResidual(weight w: Double, draft: [Double]) -> Double {
        transform(outsideFactor: w) { i, q in w * q - (i < draft.count ? draft[i] : 0) }
    }

    package func probability(of token: Token) -> Double {
        if let i = patchTokens.firstIndex(of: token) { return patch[i] }
        return outsideScale * base.probability(of: token)
    }

    package func sample(quantile u: Double) -> Token {
        var cumulative = 0.0
        var last: Token? = nil
        for (t, p) in zip(patchTokens, patch) where p > 0 {
            cumulative += p
            last = t
            if u < cumulative { return t }
        }
        // The rest of the mass lies outside S: a blocked walk over the row, skipping S.
        var excluded: [Int: [Token]] = [:]
        for t in patchTokens { excluded[t / DenseDistribution.blockSize, default: []].append(t) }
        if outsideScale > 0, let t = base.sample(quantile: max(0, u - cumulative), scale: outsideScale, excluding: excluded) {
            return t
        }
        return last ?? base.argmax
    }

    package func forEachOutcome(_ body: (Token, Double) -> Void) {
        for (t, p) in zip(patchTokens, patch) where p > 0 { body(t, p) }
        guard outsideScale > 0 else { return }
        let patched = Set(patchTokens)
        for (t, b) in base.probabilities.enumerated() where b > 0 && !patched.contains(t) {
            body(t, outsideScale * b)
        }
    }
}
