/// A parsed Jinja template: the subset of Jinja that chat templates use, rendered the way
/// Hugging Face's `apply_chat_template` renders them with jinja2 (see `JinjaLexer` for the
/// whitespace settings and `JinjaBuiltins` for what a template can call).
///
/// Parse once, render many times; rendering is a pure function of the template and the values.
package struct JinjaTemplate: @unchecked Sendable {
    // @unchecked: the nodes are immutable after parsing; literal values hold no reference types.
    private let nodes: [JinjaNode]

    package init(_ source: String) throws(JinjaError) {
        nodes = try JinjaParser.parse(source)
    }

    /// The template rendered with `variables` (besides the globals: `range`, `namespace`, …).
    package func render(_ variables: JinjaDictionary) throws(JinjaError) -> JinjaText {
        var renderer = JinjaRenderer(globals: JinjaBuiltins.globals, variables: variables)
        return try renderer.render(nodes)
    }
}
