/*
 * inspect.h - a container's Docker configuration: what a create records with the container
 * (the Config and HostConfig fields the port layer does not keep, in the port layer's
 * annotations), and docker inspect's answer made from the port layer's container and that
 * record (engine_container_inspect).
 *
 * The port layer keeps what it runs: the command, environment, user, working directory,
 * hostname, tty, mounts, ports, networks, memory. The record adds what Docker shows besides:
 * labels, exposed ports, the entrypoint and command apart, the image's id, stop timeout and
 * signal, and every HostConfig field given at create (engine_hostconfig_given). Inspect lays
 * the record over Docker's zero values, then what the port layer knows over both.
 */
#ifndef VIC_PERSONALITY_INSPECT_H
#define VIC_PERSONALITY_INSPECT_H

#include <jansson.h>

/* The port layer annotation that holds the record (JSON text). */
#define ENGINE_RECORD_KEY "docker.config"

/* The record of a create body b (checked: engine_hostconfig_check, engine_config_check)
 * with image img (the port layer's image, {id, config {entrypoint, cmd, labels,
 * exposed_ports, stop_signal, ...}}; NULL: unknown): {"ImageID", "Config": {the non-empty of
 * Entrypoint and Cmd (merged with the image's as Docker does), Labels and ExposedPorts (the
 * image's and the given), Healthcheck (merged with the image's: engine_healthcheck_merge),
 * Volumes, StopSignal, StopTimeout, MacAddress,
 * AttachStdin, AttachStdout, AttachStderr, StdinOnce, OnBuild, Shell, ArgsEscaped},
 * "HostConfig": engine_hostconfig_given}. New reference. */
json_t *engine_record_make(const json_t *b, const json_t *img);

/* Docker's merge of a create's Healthcheck (given) with its image's (image; both Docker's
 * {Test, Interval, Timeout, StartPeriod, StartInterval, Retries}, either may be NULL): the
 * image's where given has none (an empty Test, a zero number), the given over it. NULL when
 * neither has one. New reference. */
json_t *engine_healthcheck_merge(const json_t *given, const json_t *image);

/* The port layer's healthcheck (portlayer/health.h) of a record: its Config.Healthcheck when
 * the test is CMD or CMD-SHELL (with Config.Shell), NULL otherwise. New reference. */
json_t *engine_healthcheck_spec(const json_t *record);

/* Completes the port layer spec pc of body b with the record: the entrypoint and command as
 * the record merged them (so that what runs is what inspect shows), and the record in the
 * annotations. */
void engine_record_attach(json_t *pc, const json_t *record);

/* The record of the port layer container x (a new reference), or NULL for a container
 * created without one. */
json_t *engine_record_of(const json_t *x);

/* docker inspect's answer for the port layer container x (a new reference): every field
 * Docker Engine returns, the container's record over Docker's zero values, and
 * what the port layer runs over both; State.Pid is x's "pid" while it runs. */
json_t *engine_container_inspect(const json_t *x);

#endif
