/* gatehouse audit: a threat-model report from the configuration. */
#ifndef GH_AUDIT_AUDIT_H
#define GH_AUDIT_AUDIT_H

/* argv[0] is "audit". Returns the process's exit status: 0 clean, 1 findings at or above
 * --fail-on, 2 the configuration does not load or the report cannot be written. */
int gh_audit_main(int argc, char **argv);

#endif
