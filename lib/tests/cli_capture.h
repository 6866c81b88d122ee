/*
 * cli_capture.h - unit-test helpers for command-line parsers: an argv built from a list, and
 * what a parse writes to its out and err streams captured as text.
 *
 *   cli_capture cap;
 *   char *argv[32];
 *   int argc = cli_argv(argv, 32, "port-layer-server", CLI_ARGS("--token-file", "/t"));
 *   cli_capture_begin(&cap);
 *   rc = pl_config_parse(&c, argc, argv, cap.out, cap.err);
 *   cli_capture_end(&cap);          // cap.out_text, cap.err_text hold what was written
 *   cli_capture_free(&cap);
 */
#ifndef VIC_TESTS_CLI_CAPTURE_H
#define VIC_TESTS_CLI_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>

/* A NULL-terminated argument list: CLI_ARGS("--listen", "a:1"). */
#define CLI_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CLI_NO_ARGS   ((const char *const[]){NULL})

typedef struct cli_capture {
    FILE *out, *err;
    char *out_text, *err_text;
    size_t out_len, err_len;
} cli_capture;

/* Fills argv with prog followed by args, NULL-terminated; returns argc. Aborts when argv (cap
 * entries) is too small: a test's mistake. */
static inline int cli_argv(char **argv, size_t cap, const char *prog, const char *const *args)
{
    size_t argc = 0;
    argv[argc++] = (char *)prog;
    for (; *args; args++) {
        if (argc + 1 >= cap)
            abort();
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    return (int)argc;
}

static inline void cli_capture_begin(cli_capture *c)
{
    *c = (cli_capture){0};
    c->out = open_memstream(&c->out_text, &c->out_len);
    c->err = open_memstream(&c->err_text, &c->err_len);
    if (c->out == NULL || c->err == NULL)
        abort();
}

/* Closes the streams: out_text and err_text then hold what was written (NUL-terminated). */
static inline void cli_capture_end(cli_capture *c)
{
    fclose(c->out);
    fclose(c->err);
    c->out = c->err = NULL;
}

static inline void cli_capture_free(cli_capture *c)
{
    free(c->out_text);
    free(c->err_text);
    c->out_text = c->err_text = NULL;
}

/* What a usage function writes, as a heap string. */
static inline char *cli_usage_text(void (*usage)(FILE *))
{
    cli_capture c;
    cli_capture_begin(&c);
    usage(c.out);
    cli_capture_end(&c);
    free(c.err_text);
    return c.out_text;
}

#endif
