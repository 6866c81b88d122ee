/* libFuzzer harness: any string a client sends that reaches a log line (a user name, a path,
 * an image reference) through lib/log's logfmt escaping. The line must hold no control
 * character, and each quoted value must read back, unescaped, as exactly what was given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

/* Reads the quoted value starting at *p (after its opening quote) back into out; returns
 * the position after its closing quote, or NULL when the quoting is broken. */
static const char *unquote(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    while (*p && *p != '"') {
        char ch = *p++;
        if (ch == '\\') {
            char e = *p++;
            if (e == 'n')
                ch = '\n';
            else if (e == 'r')
                ch = '\r';
            else if (e == 't')
                ch = '\t';
            else if (e == 'u') {
                char hex[5] = {0};
                for (int i = 0; i < 4; i++)
                    if ((hex[i] = *p++) == '\0')
                        return NULL;
                ch = (char)strtol(hex, NULL, 16);
            } else if (e == '"' || e == '\\')
                ch = e;
            else
                return NULL;
        }
        if (n + 1 >= cap)
            return NULL;
        out[n++] = ch;
    }
    out[n] = '\0';
    return *p == '"' ? p + 1 : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char value[1024];
    size_t n = size < sizeof(value) - 1 ? size : sizeof(value) - 1;
    memcpy(value, data, n);
    value[n] = '\0'; /* a C string ends at its first NUL, as every logged value does */
    char line[3 * 6 * sizeof(value) + 64]; /* room for every byte escaped */
    size_t len = vic_log_format(line, sizeof(line), "event=x user=\"%s\" path=%s text %s end",
                                value, value, value);
    if (len != strlen(line))
        abort();
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            abort();
    const char *p = strstr(line, "user=\"");
    char back[1024 * 6];
    if (p == NULL || (p = unquote(p + 6, back, sizeof(back))) == NULL || strcmp(back, value) != 0)
        abort();
    if (strncmp(p, " path=", 6) != 0)
        abort(); /* the value ended its field exactly where it should */
    p += 6;
    if (*p == '"') {
        if ((p = unquote(p + 1, back, sizeof(back))) == NULL || strcmp(back, value) != 0)
            abort();
    } else if (strncmp(p, value, strlen(value)) != 0 || strpbrk(value, " \"=\\") != NULL) {
        abort();
    }
    return 0;
}
