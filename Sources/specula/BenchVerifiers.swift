import ArgumentParser
import Foundation
import SpeculaBench
import SpeculaCore

/// `specula bench verifiers`: exact tokens per round on toy pairs, and the cost of one call.
struct BenchVerifiers: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verifiers",
        abstract: "Exact tokens per round of every verifier on toy models, and the cost of one call.",
        discussion: """
            The toy table enumerates every draft and accept/reject branch (no sampling) on a fixed \
            set of random prefix-dependent n-gram pairs and prints the expected tokens per round \
            (accepted draft tokens + 1) of each verifier, beside the SpecTr-GBV paper's claimed \
            value (a reference ceiling). The mixed table does the same for drafts of three \
            laws in one round (two draft tables and a prompt-lookup drafter): each pool alone, \
            and the two verifiers for mixed drafts, `mixed-rrs` and `mixed-block`. The cost table times one verifier call for K drafts of \
            γ tokens over a 151,936-token vocabulary with 64-entry sparse draft rows.
            """)

    @Flag(help: "Print JSON instead of tables.") var json = false
    @Option(help: "Verifier calls timed per cost row.") var calls: Int = 200

    func run() throws {
        let toys = VerifierBenchmark.toyTable { note in
            FileHandle.standardError.write(Data("… \(note)\n".utf8))
        }
        let kinds: [VerifierKind] = [.token, .block, .kseq, .traversal, .multidraftBlock]
        var cost: [VerifierBenchmark.CostRow] = []
        for kind in kinds {
            FileHandle.standardError.write(Data("… cost \(kind.rawValue)\n".utf8))
            let drafts = kind.usesMultipleDrafts ? 4 : 1
            cost.append(VerifierBenchmark.cost(kind: kind, drafts: drafts, block: 8, calls: calls))
        }
        for kind in [VerifierKind.mixedRRS, .mixedBlock] {
            FileHandle.standardError.write(Data("… cost \(kind.rawValue), 2 pools\n".utf8))
            cost.append(VerifierBenchmark.cost(kind: kind, drafts: 4, block: 8, pools: 2, calls: calls))
        }
        let mixed = VerifierBenchmark.mixedTable { note in
            FileHandle.standardError.write(Data("… \(note)\n".utf8))
        }
        let report = VerifierBenchmark.Report(toys: toys, mixed: mixed, cost: cost)
        if json {
            try JSONOutput.print(report)
            return
        }
        let names = VerifierBenchmark.compared.map(\.rawValue)
        print("tokens per round (exact):")
        print((["setting"] + names + ["paper-ceiling"]).joined(separator: "\t"))
        for row in toys {
            let s = row.setting
            let cells = names.map { String(format: "%.4f", row.tokensPerRound[$0] ?? .nan) }
            print((["V=\(s.vocabulary) K=\(s.drafts) γ=\(s.block) seed=\(s.seed)"] + cells + [String(format: "%.4f", row.paperCeiling)]).joined(separator: "\t"))
        }
        print("\nmixed drafts, tokens per round (exact; pools: first table, second table, prompt lookup):")
        print(["setting", "each pool alone", "best alone", "mixed-rrs", "mixed-block"].joined(separator: "\t"))
        for row in mixed {
            let s = row.setting
            let alone = row.alone.map { String(format: "%.4f", $0) }.joined(separator: " / ")
            let cells = [row.bestAlone, row.mixedRRS, row.mixedBlock].map { String(format: "%.4f", $0) }
            print((["V=\(s.vocabulary) K=\(s.first)+\(s.second)+\(s.lookup) γ=\(s.block) τ=\(s.temperature) seed=\(s.seed)", alone] + cells)
                .joined(separator: "\t"))
        }
        print("\ncost of one call (µs, mean ± stddev):")
        for row in cost {
            print("\(row.verifier)\tK=\(row.drafts) γ=\(row.block) V=\(row.vocabulary) support=\(row.support)\t\(String(format: "%.1f ± %.1f", row.meanMicroseconds, row.stddevMicroseconds))")
        }
    }
}
