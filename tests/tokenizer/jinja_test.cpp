#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/jinja/template.h"

using namespace s0;
using s0::jinja::Template;

namespace {

std::string render(const std::string& src, const Json& vars = Json::object()) { return Template(src, "t").render(vars); }

std::string error_of(const std::string& src, const Json& vars = Json::object()) {
  try {
    render(src, vars);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Jinja, ExpressionsAndPrecedence) {
  EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 1 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }}"),
            "7 9 8 -4 2 3.5");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ none }} {{ 'ab' * 2 }} {{ [1] + [2] }}"), "a1None abab [1, 2]");
  EXPECT_EQ(render("{{ not 1 == 2 and 3 > 2 }} {{ 1 if false else 2 }} {{ 'x' if true }}"), "True 2 x");
  EXPECT_EQ(render("{{ 'b' in 'abc' }} {{ 2 not in [1, 2] }} {{ 'k' in {'k': 1} }}"), "True False True");
  EXPECT_EQ(render("{{ x | length - 1 }}", {{"x", {1, 2, 3}}}), "2");
  EXPECT_EQ(render("{{ 0.1 + 0.2 }} {{ 1e20 }} {{ 2.0 }} {{ 1e-5 }}"), "0.30000000000000004 1e+20 2.0 1e-05");
}

TEST(Jinja, SlicingAndIndexing) {
  Json vars = {{"l", {1, 2, 3, 4}}, {"s", "héllo"}};
  EXPECT_EQ(render("{{ l[::-1] }} {{ l[1:3] }} {{ l[-1] }} {{ l[:-2] }} {{ l[::2] }}", vars), "[4, 3, 2, 1] [2, 3] 4 [1, 2] [1, 3]");
  EXPECT_EQ(render("{{ s[::-1] }} {{ s[1] }} {{ s[1:3] }} {{ s | length }}", vars), "olléh é él 5");
  EXPECT_EQ(render("{{ l[10] is defined }} {{ {'a': 1}['a'] }} {{ {'a': 1}.a }}", vars), "False 1 1");
}

TEST(Jinja, StringMethods) {
  EXPECT_EQ(render("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }}"),
            "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c']");
  EXPECT_EQ(render("[{{ '\\n x \\n'.strip() }}][{{ 'xxaxx'.lstrip('x') }}][{{ 'xxaxx'.rstrip('x') }}][{{ '\\nA\\n'.strip('\\n') }}]"),
            "[x][axx][xxa][A]");
  EXPECT_EQ(render("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith('bc') }} {{ 'abc'.startswith(('x', 'a')) }}"),
            "True True True");
  EXPECT_EQ(render("{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}{{ 'hello world' | title }}{{ 'a-b'.replace('-', '+') }}"),
            "ABabHello Worlda+b");
}

TEST(Jinja, FiltersAndTests) {
  Json vars = {{"d", {{"b", 1}, {"a", {true, nullptr, 1.5, "é\"\n"}}}}, {"n", nullptr}, {"s", "x"}};
  EXPECT_EQ(render("{{ d | tojson }}", vars), R"({"a": [true, null, 1.5, "é\"\n"], "b": 1})");
  EXPECT_EQ(render("{{ d | tojson(indent=2) }}", vars),
            "{\n  \"a\": [\n    true,\n    null,\n    1.5,\n    \"é\\\"\\n\"\n  ],\n  \"b\": 1\n}");
  EXPECT_EQ(render("[{{ '  t  ' | trim }}] {{ [3, 1] | first }} {{ [3, 1] | last }} {{ ['a', 'b'] | join('-') }}"),
            "[t] 3 1 a-b");
  EXPECT_EQ(render("{{ n is none }} {{ s is string }} {{ u is defined }} {{ u is not defined }} {{ 3 is odd }} {{ u | default('z') }}", vars),
            "True True False True True z");
  EXPECT_EQ(render("{{ [{'a': 1}, {'a': 2}, {}] | selectattr('a', 'defined') | map(attribute='a') | list }}"), "[1, 2]");
}

TEST(Jinja, LoopsScopesAndNamespace) {
  Json vars = {{"xs", {"a", "b", "c"}}};
  EXPECT_EQ(render("{% for x in xs %}{{ loop.index0 }}{{ x }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %},{% endfor %}", vars),
            "0aF,1b,2cL,");
  EXPECT_EQ(render("{% set v = 1 %}{% for x in xs %}{% set v = 2 %}{% endfor %}{{ v }}", vars), "1");
  EXPECT_EQ(render("{% set ns = namespace(v=1) %}{% for x in xs %}{% set ns.v = ns.v + 1 %}{% endfor %}{{ ns.v }}", vars), "4");
  EXPECT_EQ(render("{% for x in xs if x != 'b' %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}", vars), "a2c2");
  EXPECT_EQ(render("{% for x in [] %}{{ x }}{% else %}none{% endfor %}"), "none");
  EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
  EXPECT_EQ(render("{% for x in xs %}{% if x == 'b' %}{% continue %}{% endif %}{% if x == 'c' %}{% break %}{% endif %}{{ x }}{% endfor %}", vars), "a");
  EXPECT_EQ(render("{% if 0 %}a{% elif 1 %}b{% else %}c{% endif %}"), "b");
  EXPECT_EQ(render("{% macro m(a, b='B') %}<{{ a }}{{ b }}>{% endmacro %}{{ m(1) }}{{ m(1, b=2) }}"), "<1B><12>");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ b }}{{ a }}{% set c %}x{{ a }}{% endset %}{{ c }}"), "21x1");
}

TEST(Jinja, WhitespaceControl) {
  EXPECT_EQ(render("a  {{- 'b' -}}  \n c"), "abc");
  // trim_blocks and lstrip_blocks, as Hugging Face sets them.
  EXPECT_EQ(render("x\n    {% if true %}\n    y\n    {% endif %}\nz\n"), "x\n    y\nz");
  EXPECT_EQ(render("{# comment #}\na{#- c -#}  b"), "ab");
  EXPECT_EQ(render("  {%+ if true %}k{% endif %}"), "  k");
}

TEST(Jinja, UndefinedLikeJinja2) {
  EXPECT_EQ(render("[{{ missing }}]{{ missing is defined }}{% if missing %}x{% endif %}{{ missing | length }}"), "[]False0");
  EXPECT_EQ(render("{{ {}.nope is defined }}"), "False");
  EXPECT_EQ(error_of("\n  {{ missing.attr }}"), "t: template line 2, column 13: 'missing' is undefined");
  EXPECT_EQ(error_of("{{ missing() }}"), "t: template line 1, column 11: 'missing' is undefined");
  EXPECT_EQ(error_of("{% for x in missing %}{% endfor %}"), "t: template line 1, column 13: 'missing' is undefined");
  EXPECT_EQ(error_of("{{ 'a' + missing }}"), "t: template line 1, column 8: 'missing' is undefined");
  EXPECT_EQ(error_of("{{ m.content.strip() }}", {{"m", Json::object()}}),
            "t: template line 1, column 13: 'dict object' has no attribute 'content'");
}

TEST(Jinja, RuntimeErrors) {
  EXPECT_EQ(error_of("{{ raise_exception('bad role') }}"), "t: template line 1, column 19: raise_exception: bad role");
  EXPECT_EQ(error_of("{{ 1 + 'a' }}"), "t: template line 1, column 6: unsupported operand type(s) for +: 'int' and 'str'");
  EXPECT_EQ(error_of("{{ 1 // 0 }}"), "t: template line 1, column 6: division by zero");
}

TEST(Jinja, SyntaxErrors) {
  EXPECT_EQ(error_of("{% if x %}a"), "t: template line 1, column 12: expected 'endif' before end of template");
  EXPECT_EQ(error_of("ok\n{{ 1 + }}"), "t: template line 2, column 8: unexpected '}}'");
  EXPECT_EQ(error_of("{% frobnicate %}"), "t: template line 1, column 4: unknown or unsupported tag 'frobnicate'");
  EXPECT_EQ(error_of("{{ x | nosuchfilter }}"), "t: template line 1, column 8: no filter named 'nosuchfilter'");
  EXPECT_EQ(error_of("{{ 'abc }}"), "t: template line 1, column 4: unterminated string literal");
  EXPECT_EQ(error_of("{{ x"), "t: template line 1, column 5: missing }} before end of template");
}

// The shape of multimodal templates (Qwen-VL style): a macro rendering string or list content.
TEST(Jinja, MacroOverMultimodalContent) {
  std::string src =
      "{%- macro render(content) -%}\n"
      "  {%- if content is string -%}{{ content }}\n"
      "  {%- elif content is iterable -%}\n"
      "    {%- for item in content -%}\n"
      "      {%- if item.type == 'text' %}{{ item.text }}{% elif item.type == 'image' %}<img>{% endif -%}\n"
      "    {%- endfor -%}\n"
      "  {%- endif -%}\n"
      "{%- endmacro -%}\n"
      "{%- for m in messages %}[{{ m.role }}:{{ render(m.content) }}]{% endfor %}";
  Json vars = Json::parse(R"({"messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "what?"}]},
                                           {"role": "assistant", "content": "a cat"}]})");
  EXPECT_EQ(render(src, vars), "[user:<img>what?][assistant:a cat]");
}
