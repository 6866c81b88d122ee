/* Unit tests for lib/certs.c. RSA keygen is slow under ASan, so the group setup makes the
 * keys once (two CAs, one server, one client) and the tests share them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/certs.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/mem.h"

typedef struct fixture {
    vic_cert *ca;
    vic_cert *ca2;
    vic_cert *server;
    vic_cert *client;
    char dir[64];
} fixture;

static const char *const server_sans[] = {"192.168.10.5", "vch.example.com", "fd00::1"};

static int group_setup(void **state)
{
    fixture *f = xzalloc(sizeof(*f));
    vic_err *err = NULL;
    vic_cert_opts ca = {.cn = "VIC Test CA", .org = "VIC-C"};
    vic_cert_opts ca2 = {.cn = "Other CA"};
    vic_cert_opts srv = {.cn = "vch01", .org = "VIC-C", .sans = server_sans, .n_sans = 3};
    vic_cert_opts cli = {.cn = "docker-client", .days = 30};
    if (vic_cert_ca_new(&f->ca, &ca, &err) < 0 || vic_cert_ca_new(&f->ca2, &ca2, &err) < 0 ||
        vic_cert_server_new(&f->server, f->ca, &srv, &err) < 0 ||
        vic_cert_client_new(&f->client, f->ca, &cli, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err ? err->msg : "?");
        vic_err_free(&err);
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/vic-test-certs.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    cleanup_free char *cmd = xasprintf("rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    vic_cert_free(f->ca);
    vic_cert_free(f->ca2);
    vic_cert_free(f->server);
    vic_cert_free(f->client);
    free(f);
    return 0;
}

/* Parses the PEM back with OpenSSL so the tests look at the real certificate. */
static X509 *to_x509(const vic_cert *c)
{
    cleanup_free char *pem = vic_cert_pem(c);
    assert_non_null(pem);
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    return x;
}

static int has_eku(X509 *x, int nid)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    int found = 0;
    for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++)
        if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid)
            found = 1;
    EXTENDED_KEY_USAGE_free(eku);
    return found;
}

static void test_certs_ca_is_ca(void **state)
{
    fixture *f = *state;
    X509 *x = to_x509(f->ca);
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_true(bc->ca);
    assert_int_equal(crit, 1);
    BASIC_CONSTRAINTS_free(bc);
    uint32_t ku = X509_get_key_usage(x);
    assert_true(ku & KU_KEY_CERT_SIGN);
    assert_true(ku & KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(x));
    assert_int_equal(X509_check_issued(x, x), X509_V_OK);
    assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
    /* Random 159-bit serial: positive and no more than 20 bytes. */
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    assert_false(BN_is_negative(bn));
    assert_true(BN_num_bits(bn) <= 159 && BN_num_bits(bn) > 64);
    BN_free(bn);
    /* notBefore is in the past (now - 1h). */
    assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
    assert_string_equal(vic_cert_cn(f->ca), "VIC Test CA");
    X509_free(x);
}

static void test_certs_server_has_sans_and_eku(void **state)
{
    fixture *f = *state;
    X509 *x = to_x509(f->server);
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    assert_non_null(gens);
    int ip4 = 0, ip6 = 0, dns = 0, cn = 0;
    unsigned char want4[4], want6[16];
    inet_pton(AF_INET, "192.168.10.5", want4);
    inet_pton(AF_INET6, "fd00::1", want6);
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        int type = 0;
        ASN1_STRING *v = GENERAL_NAME_get0_value(g, &type);
        const unsigned char *d = ASN1_STRING_get0_data(v);
        int n = ASN1_STRING_length(v);
        if (type == GEN_IPADD && n == 4 && memcmp(d, want4, 4) == 0)
            ip4++;
        if (type == GEN_IPADD && n == 16 && memcmp(d, want6, 16) == 0)
            ip6++;
        if (type == GEN_DNS && n == 15 && memcmp(d, "vch.example.com", 15) == 0)
            dns++;
        if (type == GEN_DNS && n == 5 && memcmp(d, "vch01", 5) == 0)
            cn++;
    }
    assert_int_equal(sk_GENERAL_NAME_num(gens), 4);
    assert_int_equal(ip4, 1);
    assert_int_equal(ip6, 1);
    assert_int_equal(dns, 1);
    assert_int_equal(cn, 1); /* the CN was added as a SAN */
    GENERAL_NAMES_free(gens);
    assert_true(has_eku(x, NID_server_auth));
    assert_false(has_eku(x, NID_client_auth));
    assert_non_null(X509_get0_authority_key_id(x));
    assert_non_null(X509_get0_subject_key_id(x));
    assert_int_equal(X509_check_ca(x), 0);
    X509_free(x);
}

static void test_certs_client_has_client_eku(void **state)
{
    fixture *f = *state;
    X509 *x = to_x509(f->client);
    assert_true(has_eku(x, NID_client_auth));
    assert_false(has_eku(x, NID_server_auth));
    /* No SANs were given and the CN is not copied for clients. */
    assert_null(X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL));
    X509_free(x);
    vic_err *err = NULL;
    assert_int_equal(vic_cert_verify(f->client, f->ca, &err), 0);
    assert_null(err);
}

static void test_certs_verify_against_own_ca(void **state)
{
    fixture *f = *state;
    vic_err *err = NULL;
    assert_int_equal(vic_cert_verify(f->server, f->ca, &err), 0);
    assert_null(err);
    assert_int_equal(vic_cert_verify(f->ca, f->ca, &err), 0);
}

static void test_certs_verify_fails_against_other_ca(void **state)
{
    fixture *f = *state;
    cleanup_err vic_err *err = NULL;
    assert_int_equal(vic_cert_verify(f->server, f->ca2, &err), VIC_EAUTH);
    assert_non_null(err);
    assert_int_equal(err->code, VIC_EAUTH);
    assert_non_null(strstr(err->msg, "local issuer"));
}

static void test_certs_fingerprint_format(void **state)
{
    fixture *f = *state;
    cleanup_free char *fp = vic_cert_fingerprint(f->server);
    cleanup_free char *fp2 = vic_cert_fingerprint(f->server);
    cleanup_free char *other = vic_cert_fingerprint(f->client);
    assert_int_equal(strlen(fp), 32 * 3 - 1);
    for (size_t i = 0; i < strlen(fp); i++) {
        if (i % 3 == 2)
            assert_int_equal(fp[i], ':');
        else
            assert_non_null(strchr("0123456789ABCDEF", fp[i]));
    }
    assert_string_equal(fp, fp2);
    assert_string_not_equal(fp, other);
    assert_null(vic_cert_fingerprint(NULL));
}

static void test_certs_key_pem_is_pkcs8(void **state)
{
    fixture *f = *state;
    char *key = vic_cert_key_pem(f->server);
    assert_non_null(key);
    assert_non_null(strstr(key, "-----BEGIN PRIVATE KEY-----"));
    vic_free_secret(key);
}

static void test_certs_write_load_round_trip(void **state)
{
    fixture *f = *state;
    vic_err *err = NULL;
    cleanup_free char *cert = xasprintf("%s/server-cert.pem", f->dir);
    cleanup_free char *key = xasprintf("%s/server-key.pem", f->dir);
    assert_int_equal(vic_cert_write_pem(f->server, cert, key, &err), 0);
    assert_null(err);

    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(cert, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    vic_cert *c = NULL;
    assert_int_equal(vic_cert_load_pem(&c, cert, key, &err), 0);
    assert_null(err);
    cleanup_free char *fp1 = vic_cert_fingerprint(f->server);
    cleanup_free char *fp2 = vic_cert_fingerprint(c);
    assert_string_equal(fp1, fp2);
    assert_string_equal(vic_cert_cn(c), "vch01");
    char *k1 = vic_cert_key_pem(f->server);
    char *k2 = vic_cert_key_pem(c);
    assert_string_equal(k1, k2);
    vic_free_secret(k1);
    vic_free_secret(k2);
    assert_int_equal(vic_cert_verify(c, f->ca, &err), 0);

    /* A loaded certificate with its key can sign: reload the CA and use it. */
    cleanup_free char *cacert = xasprintf("%s/ca.pem", f->dir);
    cleanup_free char *cakey = xasprintf("%s/ca-key.pem", f->dir);
    assert_int_equal(vic_cert_write_pem(f->ca, cacert, cakey, &err), 0);
    vic_cert *ca = NULL;
    assert_int_equal(vic_cert_load_pem(&ca, cacert, NULL, &err), 0);
    assert_null(vic_cert_key_pem(ca)); /* loaded without its key */
    assert_int_equal(vic_cert_verify(c, ca, &err), 0);
    vic_cert_free(ca);
    vic_cert_free(c);

    /* No temporary files are left behind. */
    cleanup_free char *cmd = xasprintf("ls '%s' | grep -q tmp", f->dir);
    assert_int_not_equal(system(cmd), 0);
}

static void test_certs_write_cert_only(void **state)
{
    fixture *f = *state;
    vic_err *err = NULL;
    cleanup_free char *cert = xasprintf("%s/client-cert.pem", f->dir);
    assert_int_equal(vic_cert_write_pem(f->client, cert, NULL, &err), 0);
    vic_cert *c = NULL;
    assert_int_equal(vic_cert_load_pem(&c, cert, NULL, &err), 0);
    assert_null(vic_cert_key_pem(c));
    /* A certificate without a key cannot write one. */
    cleanup_free char *key = xasprintf("%s/nokey.pem", f->dir);
    assert_int_equal(vic_cert_write_pem(c, cert, key, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "no private key"));
    vic_err_free(&err);
    assert_int_equal(access(key, F_OK), -1);
    vic_cert_free(c);
}

static void test_certs_write_to_missing_dir_fails(void **state)
{
    fixture *f = *state;
    cleanup_err vic_err *err = NULL;
    cleanup_free char *cert = xasprintf("%s/no/such/dir/cert.pem", f->dir);
    assert_int_equal(vic_cert_write_pem(f->server, cert, NULL, &err), VIC_EIO);
    assert_non_null(strstr(err->msg, "No such file"));
}

static void test_certs_load_mismatched_key_fails(void **state)
{
    fixture *f = *state;
    cleanup_err vic_err *err = NULL;
    cleanup_free char *cert = xasprintf("%s/mm-cert.pem", f->dir);
    cleanup_free char *key = xasprintf("%s/mm-key.pem", f->dir);
    cleanup_free char *other = xasprintf("%s/mm-other.pem", f->dir);
    assert_int_equal(vic_cert_write_pem(f->server, cert, key, &err), 0);
    assert_int_equal(vic_cert_write_pem(f->client, other, key, &err), 0);
    vic_cert *c = NULL;
    assert_int_equal(vic_cert_load_pem(&c, cert, key, &err), VIC_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err->msg, "does not match"));
}

static void test_certs_load_garbage_fails(void **state)
{
    fixture *f = *state;
    cleanup_err vic_err *err = NULL;
    cleanup_free char *path = xasprintf("%s/garbage.pem", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n", fp);
    fclose(fp);
    vic_cert *c = NULL;
    assert_int_equal(vic_cert_load_pem(&c, path, NULL, &err), VIC_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err->msg, "holds no PEM certificate"));
    assert_non_null(strstr(err->msg, "error:")); /* OpenSSL's own text is included */

    /* A valid certificate with a garbage key file. */
    cleanup_free char *cert = xasprintf("%s/g-cert.pem", f->dir);
    assert_int_equal(vic_cert_write_pem(f->server, cert, NULL, &err), 0);
    assert_int_equal(vic_cert_load_pem(&c, cert, path, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "private key"));
}

static void test_certs_load_missing_file_fails(void **state)
{
    fixture *f = *state;
    cleanup_err vic_err *err = NULL;
    cleanup_free char *path = xasprintf("%s/absent.pem", f->dir);
    vic_cert *c = NULL;
    assert_int_equal(vic_cert_load_pem(&c, path, NULL, &err), VIC_ENOTFOUND);
    assert_non_null(strstr(err->msg, "absent.pem"));
}

static void test_certs_bad_options_fail(void **state)
{
    fixture *f = *state;
    vic_err *err = NULL;
    vic_cert *c = NULL;

    vic_cert_opts small = {.cn = "x", .bits = 1024};
    assert_int_equal(vic_cert_ca_new(&c, &small, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "1024"));
    vic_err_free(&err);

    vic_cert_opts big = {.cn = "x", .bits = 16384};
    assert_int_equal(vic_cert_ca_new(&c, &big, &err), VIC_EINVAL);
    vic_err_free(&err);

    vic_cert_opts nocn = {.org = "VIC"};
    assert_int_equal(vic_cert_ca_new(&c, &nocn, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "common name"));
    vic_err_free(&err);

    vic_cert_opts emptycn = {.cn = ""};
    assert_int_equal(vic_cert_server_new(&c, f->ca, &emptycn, &err), VIC_EINVAL);
    vic_err_free(&err);

    assert_int_equal(vic_cert_ca_new(&c, NULL, &err), VIC_EINVAL);
    vic_err_free(&err);

    vic_cert_opts days = {.cn = "x", .days = -5};
    assert_int_equal(vic_cert_ca_new(&c, &days, &err), VIC_EINVAL);
    vic_err_free(&err);

    static const char *const bad_sans[] = {"ok.example.com", "bad name,DNS:evil"};
    vic_cert_opts badsan = {.cn = "vch", .sans = bad_sans, .n_sans = 2};
    assert_int_equal(vic_cert_server_new(&c, f->ca, &badsan, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "bad name,DNS:evil"));
    vic_err_free(&err);

    /* Signing needs a CA with a key; a leaf certificate is not a CA. */
    vic_cert_opts ok = {.cn = "vch"};
    assert_int_equal(vic_cert_server_new(&c, NULL, &ok, &err), VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(vic_cert_server_new(&c, f->client, &ok, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "not a CA"));
    vic_err_free(&err);
    assert_null(c);

    /* err == NULL is allowed. */
    assert_int_equal(vic_cert_ca_new(&c, &nocn, NULL), VIC_EINVAL);
    vic_cert_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certs_ca_is_ca),
        cmocka_unit_test(test_certs_server_has_sans_and_eku),
        cmocka_unit_test(test_certs_client_has_client_eku),
        cmocka_unit_test(test_certs_verify_against_own_ca),
        cmocka_unit_test(test_certs_verify_fails_against_other_ca),
        cmocka_unit_test(test_certs_fingerprint_format),
        cmocka_unit_test(test_certs_key_pem_is_pkcs8),
        cmocka_unit_test(test_certs_write_load_round_trip),
        cmocka_unit_test(test_certs_write_cert_only),
        cmocka_unit_test(test_certs_write_to_missing_dir_fails),
        cmocka_unit_test(test_certs_load_mismatched_key_fails),
        cmocka_unit_test(test_certs_load_garbage_fails),
        cmocka_unit_test(test_certs_load_missing_file_fails),
        cmocka_unit_test(test_certs_bad_options_fail),
    };
    return cmocka_run_group_tests_name("certs", tests, group_setup, group_teardown);
}
