/*
 * system.c - Docker's system routes (see system.h).
 */
#include "personality/system.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "personality/common.h"

static void api_headers(vic_http_resp *resp)
{
    vic_http_resp_header(resp, "Api-Version", VIC_API_MAX);
    vic_http_resp_header(resp, "OSType", "linux");
    vic_http_resp_header(resp, "Docker-Experimental", "false");
    vic_http_resp_header(resp, "Server", "VIC-C docker-engine-server");
}

int engine_ping_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)payload, (void)err;
    vic_http_resp_text(resp, 200, "text/plain; charset=utf-8", "OK", 2);
    api_headers(resp);
    vic_http_resp_header(resp, "Swarm", "inactive"); /* as an Engine outside any swarm */
    return 0;
}

int engine_version_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)err;
    engine_ctx *c = payload;
    struct utsname u;
    uname(&u);
    json_t *engine = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "Name", "Engine", "Version",
                               c->version, "Details", "ApiVersion", VIC_API_MAX, "MinAPIVersion",
                               VIC_API_MIN, "Os", "linux", "Arch", "amd64");
    vic_http_resp_json(resp, 200,
                       json_pack("{s:{s:s}, s:[o], s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                 "Platform", "Name", "VIC-C", "Components", engine, "Version",
                                 c->version, "ApiVersion", VIC_API_MAX, "MinAPIVersion",
                                 VIC_API_MIN, "GitCommit", c->version, "GoVersion", "n/a (C)", "Os",
                                 "linux", "Arch", "amd64", "KernelVersion", u.release, "BuildTime",
                                 ""));
    api_headers(resp);
    return 0;
}

int engine_info_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req;
    engine_ctx *c = payload;
    json_t *list cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "GET", "/containers?all=1", NULL, 0, &list, err);
    if (rc < 0)
        return engine_docker_err(vic_err_wrap(err, rc, "port layer"), ENGINE_OBJ_NONE, NULL, err);
    size_t i, running = 0, paused = 0, stopped = 0;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        if (strcmp(vic_json_str(x, "state") ?: "", "paused") == 0)
            paused++;
        else if (json_is_true(json_object_get(x, "running")))
            running++;
        else
            stopped++;
    }
    /* what the host cannot enforce is said, as Docker says what its kernel lacks */
    json_t *host cleanup_json = NULL;
    json_t *warnings = json_array();
    vic_err *e cleanup_err = NULL;
    if (vic_httpc_json(c->pl, "GET", "/info", NULL, 0, &host, &e) == 0 &&
        *(vic_json_str(host, "unenforced") ?: ""))
        json_array_append_new(warnings, json_sprintf("WARNING: this VCH's host does not enforce %s",
                                                     vic_json_str(host, "unenforced")));
    const char *unenf = vic_json_str(host, "unenforced") ?: "";
    struct utsname u;
    uname(&u);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long long mem = (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
    char now[40];
    time_t t = time(NULL);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    json_t *info = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:i, s:s, s:[[s,s],[s,s]], s:b, s:b, s:s, s:s, s:s, s:s, "
        "s:s, s:s, s:I, s:I, s:s, s:s, s:[], s:b, s:{s:s}, s:s, s:s, s:[s,s,s]}",
        "ID", c->vch_name, "Containers", (json_int_t)json_array_size(list), "ContainersRunning",
        (json_int_t)running, "ContainersPaused", (json_int_t)paused, "ContainersStopped",
        (json_int_t)stopped, "Images", 0, "Driver",
        "vSphere Integrated Containers C Backend Engine", "DriverStatus", "VCH", c->vch_name,
        "Containers", "VMs on the local host", "MemoryLimit", strstr(unenf, "memory") == NULL,
        "SwapLimit", 0, "KernelVersion", u.release, "OperatingSystem", "VIC-C containerVMs",
        "OSType", "linux", "Architecture", u.machine, "SystemTime", now, "LoggingDriver",
        "json-file", "NCPU", (json_int_t)ncpu, "MemTotal", (json_int_t)mem, "Name", c->vch_name,
        "ServerVersion", c->version, "Labels", "ExperimentalBuild", 0, "Swarm", "LocalNodeState",
        "inactive", "CgroupDriver", "none", "IndexServerAddress", "https://index.docker.io/v1/",
        "SecurityOptions", "name=seccomp,profile=builtin", "name=userns", "name=cgroupns");
    json_object_set_new(info, "CpuCfsPeriod", json_boolean(strstr(unenf, "CPU") == NULL));
    json_object_set_new(info, "CpuCfsQuota", json_boolean(strstr(unenf, "CPU") == NULL));
    json_object_set_new(info, "CPUShares", json_boolean(strstr(unenf, "CPU") == NULL));
    json_object_set_new(info, "PidsLimit", json_boolean(strstr(unenf, "process") == NULL));
    json_object_set_new(info, "Warnings", warnings);
    vic_http_resp_json(resp, 200, info);
    api_headers(resp);
    return 0;
}
