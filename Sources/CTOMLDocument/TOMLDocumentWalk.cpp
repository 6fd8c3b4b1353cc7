// toml++ is compiled into this file from libtomlplusplus-dev's headers (its
// header-only mode) rather than linked from libtomlplusplus.so.3: the shared
// library needs libstdc++.so, and a box build links libstdc++ statically
// (scripts/release-build.sh) so the daemon maps neither (#8, memory).
#define TOML_HEADER_ONLY 1
// Floats through std::from_chars (exact, locale-free; libstdc++ >= 11) instead
// of toml++'s default std::stringstream, whose first use builds every C++
// locale facet: about 200 KB of code and data resident for the daemon's life.
#define TOML_FLOAT_CHARCONV 1
#include <toml++/toml.h>

#include <cstring>
#include <sstream>
#include <string>
#include <string_view>

#include "CTOMLDocument.h"

namespace {

toml_document_node node_for(const char *key, size_t key_length, toml_document_kind kind) {
    toml_document_node node{};
    node.key = key;
    node.key_length = key_length;
    node.kind = kind;
    return node;
}

template <typename T>
std::string spelling(const T &value) {
    std::ostringstream out;
    out << value;
    return out.str();
}

void walk(const toml::node &value, const char *key, size_t key_length, const toml_document_visitor &visitor) {
    switch (value.type()) {
    case toml::node_type::table: {
        auto node = node_for(key, key_length, TOML_DOCUMENT_TABLE);
        visitor.open(visitor.context, &node);
        for (auto &&[child_key, child] : *value.as_table()) {
            walk(child, child_key.data(), child_key.length(), visitor);
        }
        visitor.close(visitor.context);
        break;
    }
    case toml::node_type::array: {
        auto node = node_for(key, key_length, TOML_DOCUMENT_ARRAY);
        visitor.open(visitor.context, &node);
        for (auto &&element : *value.as_array()) {
            walk(element, nullptr, 0, visitor);
        }
        visitor.close(visitor.context);
        break;
    }
    case toml::node_type::string: {
        auto node = node_for(key, key_length, TOML_DOCUMENT_STRING);
        const std::string &text = value.as_string()->get();
        node.text = text.data();
        node.text_length = text.length();
        visitor.open(visitor.context, &node);
        break;
    }
    case toml::node_type::integer: {
        auto node = node_for(key, key_length, TOML_DOCUMENT_INTEGER);
        node.integer = value.as_integer()->get();
        visitor.open(visitor.context, &node);
        break;
    }
    case toml::node_type::floating_point: {
        auto node = node_for(key, key_length, TOML_DOCUMENT_FLOAT);
        node.number = value.as_floating_point()->get();
        visitor.open(visitor.context, &node);
        break;
    }
    case toml::node_type::boolean: {
        auto node = node_for(key, key_length, TOML_DOCUMENT_BOOLEAN);
        node.integer = value.as_boolean()->get() ? 1 : 0;
        visitor.open(visitor.context, &node);
        break;
    }
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: {
        auto node = node_for(key, key_length, TOML_DOCUMENT_DATETIME);
        std::string text;
        if (auto date = value.as_date()) text = spelling(date->get());
        else if (auto time = value.as_time()) text = spelling(time->get());
        else text = spelling(value.as_date_time()->get());
        node.text = text.data();
        node.text_length = text.length();
        visitor.open(visitor.context, &node);
        break;
    }
    case toml::node_type::none:
        break;
    }
}

void copy_message(toml_document_error *error, std::string_view message) {
    size_t n = message.length() < sizeof(error->message) - 1 ? message.length() : sizeof(error->message) - 1;
    std::memcpy(error->message, message.data(), n);
    error->message[n] = '\0';
}

} // namespace

extern "C" int toml_document_walk(const char *text, size_t length, const toml_document_visitor *visitor,
                                  toml_document_error *error) {
    toml::table root;
    try {
        root = toml::parse(std::string_view(text, length));
    } catch (const toml::parse_error &failure) {
        copy_message(error, failure.description());
        error->line = failure.source().begin.line;
        error->column = failure.source().begin.column;
        return 1;
    } catch (const std::exception &failure) {
        // Out of memory and the like: still an answer, never an abort.
        copy_message(error, failure.what());
        error->line = 1;
        error->column = 1;
        return 1;
    }
    walk(root, nullptr, 0, *visitor);
    return 0;
}
