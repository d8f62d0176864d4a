complete -c canary-smoke -s s -l suite -d 'The suite to run: a built-in suite\'s name (default, workspace-server) or a suite file. A file named like a built-in suite is ./NAME' -r
complete -c canary-smoke -l print-suite -d 'Print the built-in suite NAME on stdout and exit: a starting point for a suite file. Without NAME, print the --suite suite; for a file, only once it has been checked, so this also validates a suite file' -r
complete -c canary-smoke -s j -l jobs -d 'How many tenants to check at once' -r
complete -c canary-smoke -l timeout -d 'Limit on each request, connecting included: 20s, 1500ms, 1m, or plain seconds' -r
complete -c canary-smoke -l retries -d 'Retry a request this many times after a connection error (refused, reset, host not found), with backoff. Timeouts and answers of any status are never retried' -r
complete -c canary-smoke -l junit -d 'Also write a JUnit XML report to FILE: one testsuite per tenant, one testcase per check' -r -F
complete -c canary-smoke -l from-env -d 'Read the fleet from CANARY_TENANT_URLS and CANARY_ADMIN_TOKENS even when stdin is not a terminal'
complete -c canary-smoke -l insecure -d 'Allow plain http to non-loopback tenants'
complete -c canary-smoke -s h -l help -d 'Print help (see more with \'--help\')'
complete -c canary-smoke -s V -l version -d 'Print version'
