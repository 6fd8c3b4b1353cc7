// A C interface to Debian's toml++ (libtomlplusplus): parse a document and
// walk it once, depth first. GatewayConfig turns the walk into plain Swift
// values; nothing of toml++ outlives the call, so no C++ type crosses into Swift.
#ifndef CTOMLDOCUMENT_H
#define CTOMLDOCUMENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TOML_DOCUMENT_TABLE = 0,
    TOML_DOCUMENT_ARRAY = 1,
    TOML_DOCUMENT_STRING = 2,
    TOML_DOCUMENT_INTEGER = 3,
    TOML_DOCUMENT_FLOAT = 4,
    TOML_DOCUMENT_BOOLEAN = 5,
    /// A date, a time or a date-time; `text` is its TOML spelling.
    TOML_DOCUMENT_DATETIME = 6,
} toml_document_kind;

/// One node of the document. `key` is NULL for an element of an array.
/// `text` is set for STRING and DATETIME; `integer` for INTEGER and BOOLEAN
/// (0 or 1); `number` for FLOAT.
typedef struct {
    const char *key;
    size_t key_length;
    toml_document_kind kind;
    const char *text;
    size_t text_length;
    int64_t integer;
    double number;
} toml_document_node;

typedef struct {
    void *context;
    /// Called for every node in document order. A TABLE or ARRAY node is
    /// followed by its children and then by one `close` call.
    void (*open)(void *context, const toml_document_node *node);
    void (*close)(void *context);
} toml_document_visitor;

typedef struct {
    /// toml++'s description of the syntax error, NUL-terminated (truncated to fit).
    char message[480];
    uint32_t line;
    uint32_t column;
} toml_document_error;

/// Parses `length` bytes of `text` and walks the root table (which is
/// reported as an unnamed TABLE node). Returns 0 on success, or 1 after
/// filling `error` for a syntax error, in which case nothing was walked.
int toml_document_walk(const char *text, size_t length, const toml_document_visitor *visitor,
                       toml_document_error *error);

#ifdef __cplusplus
}
#endif

#endif
