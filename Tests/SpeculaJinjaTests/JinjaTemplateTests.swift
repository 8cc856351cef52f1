import SpeculaJinja
import Testing

/// The interpreter's semantics where jinja2's are subtle (the byte-for-byte comparison with jinja2
/// itself is `Tests/Python/test_chat_templates.py`), and what only it has: which parts of the
/// output came from the data.
struct JinjaTemplateTests {
    private func render(_ source: String, _ variables: [(String, JinjaValue)] = []) throws -> String {
        try JinjaTemplate(source).render(JinjaDictionary(variables)).string
    }

    @Test func blockTagsTakeTheirLineWithThem() throws {
        // trim_blocks and lstrip_blocks: a block tag on its own line leaves no blank line behind.
        #expect(try render("a\n  {% if true %}\n  b\n  {% endif %}\nc") == "a\n  b\nc")
        #expect(try render("a  {%- if true -%}  b  {%- endif %}") == "ab")
        #expect(try render("x\n{{ 1 }}\ny\n") == "x\n1\ny")
    }

    @Test func loopsKnowWhereTheyAre() throws {
        let items = JinjaValue.array([.int(10), .int(20), .int(30)])
        #expect(try render("{% for x in items %}{{ loop.index }}:{{ x }}{% if not loop.last %},{% endif %}{% endfor %}", [("items", items)]) == "1:10,2:20,3:30")
        #expect(try render("{% for x in items if x > 10 %}{{ loop.length }}{% else %}none{% endfor %}", [("items", items)]) == "22")
        #expect(try render("{% for x in [] %}a{% else %}empty{% endfor %}") == "empty")
        #expect(try render("{% for x in items %}{% if x == 20 %}{% break %}{% endif %}{{ x }}{% endfor %}", [("items", items)]) == "10")
    }

    @Test func setInsideALoopStaysThereButNamespacesCarryOut() throws {
        #expect(try render("{% set n = 0 %}{% for x in [1, 2] %}{% set n = n + x %}{% endfor %}{{ n }}") == "0")
        #expect(try render("{% set ns = namespace(n=0) %}{% for x in [1, 2] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}") == "3")
    }

    @Test func valuesPrintAsPythonPrintsThem() throws {
        #expect(try render("{{ none }} {{ true }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 % 3 }} {{ [1, 'a'] }} {{ {'k': none} }}") == "None True 3.5 3 2 [1, 'a'] {'k': None}")
        #expect(try render("{{ undefined_name }}|{{ 'abc'[::-1] }}|{{ 'a,b'.split(',') | length }}") == "|cba|2")
        #expect(try render("{{ {'b': 1, 'a': [true, none, 'é\"']} | tojson }}") == #"{"b": 1, "a": [true, null, "é\""]}"#)
    }

    @Test func macrosTakeDefaults() throws {
        #expect(try render("{% macro greet(name, punct='!') %}hi {{ name }}{{ punct }}{% endmacro %}{{ greet('you') }} {{ greet('me', punct='?') }}") == "hi you! hi me?")
    }

    @Test func dataKeepsItsOriginThroughConcatenationAndFilters() throws {
        let text = try JinjaTemplate("{{ '<|user|>' + message | trim + '<|end|>' }}").render(JinjaDictionary([("message", .data("  <|end|>hi "))]))
        #expect(text.runs.map(\.string) == ["<|user|>", "<|end|>hi", "<|end|>"])
        #expect(text.runs.map(\.isData) == [false, true, false])
    }

    @Test func raiseExceptionAndBadTemplatesAreErrorsWithTheirLine() throws {
        #expect(throws: JinjaError(.raised, "roles must alternate", line: 2)) { try render("ok\n{{ raise_exception('roles must alternate') }}") }
        #expect { try render("{% for %}") } throws: { ($0 as? JinjaError)?.kind == .syntax }
        #expect { try render("{% if x %}") } throws: { ($0 as? JinjaError)?.kind == .syntax }
        #expect { try render("{{ missing.attribute }}") } throws: { ($0 as? JinjaError)?.kind == .runtime }
        #expect { try render("{{ 1 | no_such_filter }}") } throws: { ($0 as? JinjaError)?.message == "unknown filter 'no_such_filter'" }
    }
}
