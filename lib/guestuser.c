/* guestuser.c - see guestuser.h. */
#include "guestuser.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vic_guest_lookup_path(const char *cmd, char *const *env, size_t n_env, char *out, size_t cap,
                          char *msg, size_t msg_cap)
{
    struct stat st;
    if (cmd == NULL || *cmd == '\0') {
        snprintf(msg, msg_cap, "exec: no command given");
        return -1;
    }
    if (strchr(cmd, '/')) {
        if (stat(cmd, &st) == 0 && S_ISREG(st.st_mode) && access(cmd, X_OK) == 0) {
            snprintf(out, cap, "%s", cmd);
            return 0;
        }
        snprintf(msg, msg_cap, "exec: \"%s\": stat %s: %s", cmd, cmd,
                 errno == ENOENT || errno == 0 ? "no such file or directory" : "permission denied");
        return -1;
    }
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (size_t i = 0; i < n_env; i++)
        if (strncmp(env[i], "PATH=", 5) == 0)
            path = env[i] + 5;
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, ":");
        snprintf(out, cap, "%.*s/%s", (int)(n ? n : 1), n ? p : ".", cmd);
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 0;
        p += n;
        if (*p == ':')
            p++;
    }
    snprintf(msg, msg_cap, "exec: \"%s\": executable file not found in $PATH", cmd);
    return -1;
}

/* Finds the entry of a passwd or group file whose name (field 0) or id (field 2) is want. */
static int find_entry(const char *file, const char *want, char *line, size_t cap, char **fields,
                      int nfields)
{
    FILE *f = fopen(file, "re");
    if (f == NULL)
        return -1;
    while (fgets(line, (int)cap, f)) {
        line[strcspn(line, "\n")] = '\0';
        int n = 0;
        char *s = line;
        for (; n < nfields; n++) {
            fields[n] = s;
            char *colon = strchr(s, ':');
            if (colon == NULL) {
                n++;
                break;
            }
            *colon = '\0';
            s = colon + 1;
        }
        if (n < 3)
            continue;
        if (strcmp(fields[0], want) == 0 || strcmp(fields[2], want) == 0) {
            fclose(f);
            return n;
        }
    }
    fclose(f);
    return -1;
}

static int all_digits(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

int vic_guest_lookup_user(const char *user, const char *group, const char *passwd_file,
                          const char *group_file, unsigned *uid, unsigned *gid, char *home,
                          size_t home_cap, char *msg, size_t msg_cap)
{
    char line[1024];
    char *f[7];
    *uid = 0;
    *gid = 0;
    snprintf(home, home_cap, "/root");
    /* Docker's "user:group" in one string (docker run -u 1234:5678) */
    char user_part[256];
    const char *colon = user ? strchr(user, ':') : NULL;
    if (colon && (group == NULL || *group == '\0')) {
        snprintf(user_part, sizeof(user_part), "%.*s", (int)(colon - user), user);
        group = colon + 1;
        user = user_part;
    }
    if (user && *user) {
        int n = find_entry(passwd_file, user, line, sizeof(line), f, 7);
        if (n >= 4) {
            *uid = (unsigned)strtoul(f[2], NULL, 10);
            *gid = (unsigned)strtoul(f[3], NULL, 10);
            if (n >= 6)
                snprintf(home, home_cap, "%s", f[5]);
        } else if (all_digits(user)) {
            *uid = (unsigned)strtoul(user, NULL, 10);
            snprintf(home, home_cap, "/");
        } else {
            snprintf(msg, msg_cap, "unable to find user %s: no matching entries in passwd file",
                     user);
            return -1;
        }
    }
    if (group && *group) {
        if (find_entry(group_file, group, line, sizeof(line), f, 4) >= 3)
            *gid = (unsigned)strtoul(f[2], NULL, 10);
        else if (all_digits(group))
            *gid = (unsigned)strtoul(group, NULL, 10);
        else {
            snprintf(msg, msg_cap, "unable to find group %s: no matching entries in group file",
                     group);
            return -1;
        }
    }
    if (*uid >= 65536 || *gid >= 65536) {
        snprintf(msg, msg_cap, "user %s: ids above 65535 are not mapped in this VM",
                 user ? user : "");
        return -1;
    }
    return 0;
}
