#pragma once
// A well-formedness check for the XML our SVG writer produces, so tests can parse its charts
// without an XML library: one root element, every element closed in order, attributes as
// name="value", text and values free of raw '<' and of '&' other than the five named entities
// and numeric references. Comments, processing instructions and CDATA are not produced, so they
// are reported as problems too.
#include <cctype>
#include <string>
#include <vector>

namespace s0::test {

// "" when `xml` is well formed, else the first problem and its offset.
inline std::string xml_problem(const std::string& xml) {
  std::vector<std::string> open;
  size_t roots = 0, i = 0;
  auto problem = [&](const std::string& what) { return what + " at offset " + std::to_string(i); };
  auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.';
  };
  auto read_name = [&]() {
    size_t start = i;
    while (i < xml.size() && name_char(xml[i])) ++i;
    return xml.substr(start, i - start);
  };
  auto entity_ok = [&]() {  // at '&'
    size_t end = xml.find(';', i);
    if (end == std::string::npos) return false;
    std::string e = xml.substr(i + 1, end - i - 1);
    bool ok = e == "amp" || e == "lt" || e == "gt" || e == "quot" || e == "apos";
    if (!ok && e.size() > 1 && e[0] == '#') {
      ok = true;
      for (size_t k = 1; k < e.size(); ++k) ok = ok && std::isdigit(static_cast<unsigned char>(e[k]));
    }
    if (ok) i = end + 1;
    return ok;
  };
  auto skip_space = [&]() {
    while (i < xml.size() && std::isspace(static_cast<unsigned char>(xml[i]))) ++i;
  };
  while (i < xml.size()) {
    const char c = xml[i];
    if (c == '&') {
      if (!entity_ok()) return problem("a bare '&'");
      continue;
    }
    if (c != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(c))) return problem("text outside the root");
      ++i;
      continue;
    }
    ++i;
    if (i < xml.size() && xml[i] == '/') {
      ++i;
      const std::string name = read_name();
      skip_space();
      if (i >= xml.size() || xml[i] != '>') return problem("a malformed end tag");
      if (open.empty() || open.back() != name) return problem("</" + name + "> closes nothing open");
      open.pop_back();
      ++i;
      continue;
    }
    const std::string name = read_name();
    if (name.empty()) return problem("'<' not starting a tag");
    if (open.empty() && roots++ > 0) return problem("a second root element");
    std::vector<std::string> attributes;
    while (true) {
      const size_t before = i;
      skip_space();
      if (i >= xml.size()) return problem("an unclosed tag <" + name);
      if (xml[i] == '>' || (xml[i] == '/' && i + 1 < xml.size() && xml[i + 1] == '>')) break;
      if (i == before) return problem("attributes not separated by space");
      const std::string attribute = read_name();
      if (attribute.empty() || i >= xml.size() || xml[i] != '=') return problem("a malformed attribute");
      for (const std::string& a : attributes)
        if (a == attribute) return problem("attribute " + attribute + " given twice");
      attributes.push_back(attribute);
      ++i;
      if (i >= xml.size() || xml[i] != '"') return problem("an unquoted attribute value");
      ++i;
      while (i < xml.size() && xml[i] != '"') {
        if (xml[i] == '<') return problem("'<' in an attribute value");
        if (xml[i] == '&') {
          if (!entity_ok()) return problem("a bare '&' in an attribute value");
        } else {
          ++i;
        }
      }
      if (i >= xml.size()) return problem("an unterminated attribute value");
      ++i;
    }
    if (xml[i] == '/') {
      i += 2;
    } else {
      open.push_back(name);
      ++i;
    }
  }
  if (!open.empty()) return problem("<" + open.back() + "> never closed");
  if (roots != 1) return problem("no root element");
  return "";
}

// How many times `needle` occurs in `text`.
inline size_t occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

}  // namespace s0::test
