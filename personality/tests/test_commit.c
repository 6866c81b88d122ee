/*
 * test_commit.c - docker commit's changes (personality/commit.c): each instruction a commit
 * takes, Docker's quoting and substitution, the refusals with Docker's messages, and the
 * merge with the container's config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/cleanup.h"
#include "personality/commit.h"

static char *apply(json_t *cfg, const char *text)
{
    vic_err *err cleanup_err = NULL;
    if (engine_commit_changes(cfg, text, &err) < 0)
        return strdup(err->msg);
    return NULL;
}

static void assert_json(const json_t *v, const char *want)
{
    json_t *w cleanup_json = json_loads(want, JSON_DECODE_ANY, NULL);
    assert_non_null(w);
    if (!json_equal(v, w)) {
        char *got = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fail_msg("got %s, want %s", got, want);
    }
}

static void test_commit_instructions(void **state)
{
    (void)state;
    json_t *cfg cleanup_json = json_pack("{s:[s]}", "Env", "A=one");
    char *msg = apply(cfg, "ENV B=$A C=\"${A} two\" D='$A' E=${NOPE:-dflt} F=${A:+set}\n"
                           "env G h i\n"
                           "CMD [\"echo\", \"x\"]\n"
                           "LABEL \"k k\"=v l=\"w x\"\n"
                           "EXPOSE 80 53/udp 90-91\n"
                           "VOLUME /v1 /v2\n"
                           "VOLUME [\"/v3\"]\n"
                           "WORKDIR /a\n"
                           "WORKDIR b/../c\n"
                           "USER $A\n"
                           "STOPSIGNAL SIGQUIT\n"
                           "# a comment\n"
                           "\n"
                           "ONBUILD RUN make \\\n"
                           "   install\n");
    if (msg)
        fail_msg("refused: %s", msg);
    assert_json(
        json_object_get(cfg, "Env"),
        "[\"A=one\", \"B=one\", \"C=one two\", \"D=$A\", \"E=dflt\", \"F=set\", \"G=h i\"]");
    assert_json(json_object_get(cfg, "Cmd"), "[\"echo\", \"x\"]");
    assert_json(json_object_get(cfg, "Labels"), "{\"k k\": \"v\", \"l\": \"w x\"}");
    assert_json(json_object_get(cfg, "ExposedPorts"),
                "{\"80/tcp\": {}, \"53/udp\": {}, \"90/tcp\": {}, \"91/tcp\": {}}");
    assert_json(json_object_get(cfg, "Volumes"), "{\"/v1\": {}, \"/v2\": {}, \"/v3\": {}}");
    assert_json(json_object_get(cfg, "WorkingDir"), "\"/a/c\"");
    assert_json(json_object_get(cfg, "User"), "\"one\"");
    assert_json(json_object_get(cfg, "StopSignal"), "\"SIGQUIT\"");
    assert_json(json_object_get(cfg, "OnBuild"), "[\"RUN make    install\"]");
    /* the shell form; an ENTRYPOINT resets a command set before these changes */
    json_t *c2 cleanup_json = json_pack("{s:[s]}", "Cmd", "old");
    assert_null(apply(c2, "ENTRYPOINT top -b"));
    assert_json(json_object_get(c2, "Entrypoint"), "[\"/bin/sh\", \"-c\", \"top -b\"]");
    assert_json(json_object_get(c2, "Cmd"), "null");
    assert_null(apply(c2, "CMD x\nENTRYPOINT [\"e\"]"));
    assert_json(json_object_get(c2, "Cmd"), "[\"/bin/sh\", \"-c\", \"x\"]");
}

static void test_commit_refusals(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"RUN echo", "run is not a valid change command"},
        {"FROM busybox", "from is not a valid change command"},
        {"ENV", "ENV requires at least one argument"},
        {"ENV A=1 B", "Syntax error - can't find = in \"B\". Must be of the form: name=value"},
        {"ENV A", "ENV must have two arguments"},
        {"ENV A=\"x", "unexpected end of statement while looking for matching double-quote"},
        {"LABEL a='x", "unexpected end of statement while looking for matching single-quote"},
        {"EXPOSE 0", "Invalid containerPort: 0"},
        {"EXPOSE 80/xtp", "Invalid proto: xtp"},
        {"EXPOSE 90-80", "Invalid range specified for the Port: 90-80"},
        {"STOPSIGNAL SIGNOPE", "Invalid signal: SIGNOPE"},
        {"USER a b", "USER requires exactly one argument"},
        {"ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
        {"HEALTHCHECK NONE", "HEALTHCHECK is not supported: a VCH runs no health checks"},
        {"ENV A=${B", "missing '}' in substitution of B"},
        {"ENV A=${B?}", "unsupported modifier (?) in substitution"},
        {"ENV A=${B:?gone}", "B: gone"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *cfg cleanup_json = json_object();
        char *msg = apply(cfg, cases[i][0]);
        if (msg == NULL)
            fail_msg("%s: taken", cases[i][0]);
        if (strcmp(msg, cases[i][1]) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i][0], msg, cases[i][1]);
        free(msg);
    }
}

static void test_commit_merge(void **state)
{
    (void)state;
    json_t *ccfg cleanup_json = json_loads(
        "{\"User\": \"u\", \"Env\": [\"PATH=/bin\", \"A=c\"], \"Cmd\": [\"sh\"], "
        "\"Entrypoint\": null, \"Labels\": {\"a\": \"c\", \"b\": \"c\"}, \"WorkingDir\": \"/w\", "
        "\"ExposedPorts\": {\"1/tcp\": {}}, \"Volumes\": {\"/v\": {}}, \"StopSignal\": \"TERM\"}",
        0, NULL);
    json_t *user cleanup_json = json_loads(
        "{\"Env\": [\"A=u\"], \"Labels\": {\"a\": \"u\"}, \"ExposedPorts\": {\"2/tcp\": {}}}", 0,
        NULL);
    engine_commit_merge(user, ccfg);
    assert_json(user, "{\"User\": \"u\", \"Env\": [\"A=u\", \"PATH=/bin\"], \"Cmd\": [\"sh\"], "
                      "\"Entrypoint\": null, \"Labels\": {\"a\": \"u\", \"b\": \"c\"}, "
                      "\"WorkingDir\": \"/w\", \"ExposedPorts\": {\"1/tcp\": {}, \"2/tcp\": {}}, "
                      "\"Volumes\": {\"/v\": {}}, \"StopSignal\": \"TERM\"}");
    /* an entrypoint given keeps the container's command out */
    json_t *u2 cleanup_json = json_loads("{\"Entrypoint\": [\"e\"]}", 0, NULL);
    engine_commit_merge(u2, ccfg);
    assert_null(json_object_get(u2, "Cmd"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_instructions),
        cmocka_unit_test(test_commit_refusals),
        cmocka_unit_test(test_commit_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
