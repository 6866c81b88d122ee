#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "hypervisor/local/idrange.h"
#include "lib/cleanup.h"
#include "lib/mem.h"

static char work[] = "/tmp/vic-idrange-XXXXXX";

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(work) == NULL)
        return -1;
    char *reg = xasprintf("%s/registry", work);
    setenv("VIC_IDRANGE_DIR", reg, 1);
    free(reg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char *cmd = xasprintf("rm -rf %s", work);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

/* A VM folder "name" whose .vmx names range n (0: none). */
static char *make_vm(const char *name, int n)
{
    char *dir = xasprintf("%s/%s", work, name);
    mkdir(dir, 0755);
    char *vmx = xasprintf("%s/%s.vmx", dir, name);
    FILE *f = fopen(vmx, "w");
    if (f) {
        if (n)
            fprintf(f, "vic.idRange = \"%d\"\n", n);
        fclose(f);
    }
    free(vmx);
    return dir;
}

static void test_idrange_bases_and_parsing(void **state)
{
    (void)state;
    assert_int_equal(idrange_base(0), HV_LOCAL_GUEST_ID_BASE);
    assert_int_equal(idrange_base(2), HV_LOCAL_GUEST_ID_BASE + 2 * HV_LOCAL_GUEST_ID_COUNT);
    assert_int_equal(idrange_of_vmx("7"), 7);
    assert_int_equal(idrange_of_vmx(NULL), 0);
    assert_int_equal(idrange_of_vmx("0"), 0);
    assert_int_equal(idrange_of_vmx("-1"), 0);
    assert_int_equal(idrange_of_vmx("7x"), 0);
    assert_int_equal(idrange_of_vmx("99999"), 0);
}

/* The search starts after the last range given out; this makes the next one start from the
 * first range again, as a search that wrapped round does. */
static void rewind_search(void)
{
    cleanup_free char *hint = xasprintf("%s/registry/next", work);
    FILE *f = fopen(hint, "w");
    assert_non_null(f);
    fputs("1\n", f);
    fclose(f);
}

static void test_idrange_alloc_reclaim_and_free(void **state)
{
    (void)state;
    cleanup_free char *tmp_a = xasprintf("%s/.tmp-a", work), *tmp_b = xasprintf("%s/.tmp-b", work);
    cleanup_free char *fin_a = xasprintf("%s/a", work), *fin_b = xasprintf("%s/b", work);
    mkdir(tmp_a, 0755);
    mkdir(tmp_b, 0755);
    int a = 0, b = 0, c = 0;
    assert_int_equal(idrange_alloc(&a, fin_a, tmp_a, NULL), 0);
    assert_int_equal(idrange_alloc(&b, fin_b, tmp_b, NULL), 0);
    assert_int_equal(a, 1);
    assert_int_equal(b, 2); /* a create in progress (its tmp folder) keeps its range */
    /* a renamed into place and naming its range: still in use */
    rmdir(tmp_a);
    free(make_vm("a", a));
    /* b's create was killed: its tmp folder went (the sweep), no VM: taken back */
    rmdir(tmp_b);
    cleanup_free char *tmp_c = xasprintf("%s/.tmp-c", work), *fin_c = xasprintf("%s/c", work);
    mkdir(tmp_c, 0755);
    rewind_search();
    assert_int_equal(idrange_alloc(&c, fin_c, tmp_c, NULL), 0);
    assert_int_equal(c, 2);
    /* freeing with another owner (b's, stale and given to c) leaves c's record */
    idrange_free(2, tmp_b);
    cleanup_free char *rec2 = xasprintf("%s/registry/2", work);
    assert_int_equal(access(rec2, F_OK), 0);
    idrange_free(2, tmp_c);
    assert_int_not_equal(access(rec2, F_OK), 0);
    /* a VM whose .vmx names another range does not hold this one */
    cleanup_free char *rec1 = xasprintf("%s/registry/1", work);
    assert_int_equal(access(rec1, F_OK), 0);
    free(make_vm("a", 5));
    cleanup_free char *tmp_d = xasprintf("%s/.tmp-d", work), *fin_d = xasprintf("%s/d", work);
    mkdir(tmp_d, 0755);
    int d = 0;
    rewind_search();
    assert_int_equal(idrange_alloc(&d, fin_d, tmp_d, NULL), 0);
    assert_int_equal(d, 1);
}

static void test_idrange_unwritten_record_is_stale(void **state)
{
    (void)state;
    /* a creator killed between the exclusive create and its write (under the lock) */
    cleanup_free char *reg = xasprintf("%s/registry/3", work);
    FILE *f = fopen(reg, "w");
    assert_non_null(f);
    fclose(f);
    cleanup_free char *tmp_e = xasprintf("%s/.tmp-e", work), *fin_e = xasprintf("%s/e", work);
    mkdir(tmp_e, 0755);
    int e = 0;
    rewind_search();
    assert_int_equal(idrange_alloc(&e, fin_e, tmp_e, NULL), 0);
    assert_int_equal(e, 2); /* 1 (d's) is in progress; 2 was freed */
    cleanup_free char *tmp_g = xasprintf("%s/.tmp-g", work), *fin_g = xasprintf("%s/g", work);
    mkdir(tmp_g, 0755);
    int g = 0;
    assert_int_equal(idrange_alloc(&g, fin_g, tmp_g, NULL), 0);
    assert_int_equal(g, 3);
    /* without a wrap, the search goes on after the last range: no live VM's record is read */
    cleanup_free char *tmp_h = xasprintf("%s/.tmp-h", work), *fin_h = xasprintf("%s/h", work);
    mkdir(tmp_h, 0755);
    int h = 0;
    assert_int_equal(idrange_alloc(&h, fin_h, tmp_h, NULL), 0);
    assert_int_equal(h, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idrange_bases_and_parsing),
        cmocka_unit_test(test_idrange_alloc_reclaim_and_free),
        cmocka_unit_test(test_idrange_unwritten_record_is_stale),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
