/// What a verifier decided for one round: the accepted draft path and the one token after it.
package struct VerificationOutcome: Sendable, Hashable {
    /// The deepest accepted tree node (the root when no draft token was accepted).
    package var acceptedNode: Int
    /// The accepted draft tokens, root to `acceptedNode`.
    package var acceptedTokens: [Token]
    /// The corrected token (after a rejection) or bonus token (after a whole draft).
    package var extraToken: Token
    /// The first draft through `acceptedNode`, or nil when nothing was accepted.
    package var draftIndex: Int?

    package init(tree: DraftTree, acceptedNode: Int, extraToken: Token) {
        self.acceptedNode = acceptedNode
        self.acceptedTokens = tree.path(to: acceptedNode)
        self.extraToken = extraToken
        self.draftIndex = acceptedNode == 0 ? nil : tree[acceptedNode].drafts.first
    }

    /// How many draft tokens were accepted (per-depth acceptance: depth t accepted iff t ≤ this).
    package var acceptedLength: Int { acceptedTokens.count }

    /// Every token this round emits: the accepted path, then the extra token.
    package var emittedTokens: [Token] { acceptedTokens + [extraToken] }
}
