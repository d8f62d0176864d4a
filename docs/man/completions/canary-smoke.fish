complete -c canary-smoke -s s -l suite -d 'The suite to run: a built-in suite\'s name (default, workspace-server) or a suite file. A file named like a built-in suite is ./NAME' -r
complete -c canary-smoke -l print-suite -d 'Print the built-in suite NAME on stdout and exit: a starting point for a suite file. Without NAME, print the --suite suite; for a file, only once it has been checked, so this also validates a suite file' -r
complete -c canary-smoke -s j -l jobs -d 'Requests in flight at most, across all tenants. A tenant never has more at once than its suite has independent checks (5 for the default suite)' -r
complete -c canary-smoke -l request-timeout -d 'Limit on each request, connecting and redirects included: 20s, 1500ms, 1m, or plain seconds' -r
complete -c canary-smoke -l timeout -d 'Deadline for the whole run: checks not sent by then fail as not run, tenants not read by then are left unchecked (exit 1). None by default' -r
complete -c canary-smoke -l retries -d 'Retry a request this many times after a connection error (refused, reset, dropped), with backoff. Timeouts and answers of any status are never retried' -r
complete -c canary-smoke -l max-body -d 'Longest response body read, in bytes (or with KiB/MiB); a check that needs a larger body fails as "too large". A check\'s max_body overrides it' -r
complete -c canary-smoke -l sha -d 'The build under test (7 to 40 hex characters), stamped into every record, the JUnit report and the step summary' -r
complete -c canary-smoke -l junit -d 'Also write a JUnit XML report to FILE: one testsuite per tenant, one testcase per check' -r -F
complete -c canary-smoke -l records -d 'Write the records to FILE instead of stdout (in drop-in mode, where stdout carries the script\'s text, the way to keep them)' -r -F
complete -c canary-smoke -l from-env -d 'Read the fleet from CANARY_TENANT_URLS and CANARY_ADMIN_TOKENS (the drop-in for canary-smoke.sh), whatever stdin is'
complete -c canary-smoke -l json -d 'Records on stdout even in drop-in mode (instead of the script\'s text)'
complete -c canary-smoke -l insecure -d 'Allow tenants on plain http to hosts other than loopback (plain http to 127.0.0.0/8, [::1] and localhost is always allowed)'
complete -c canary-smoke -s v -l verbose -d 'Trace on stderr what the tool does: each HTTP request (method, URL, status, time, bytes, retry) and other steps; -vv adds headers and a body excerpt. Secrets show as ***. RUNNER_DEBUG=1 under GitHub Actions counts as -v'
complete -c canary-smoke -s h -l help -d 'Print help (see more with \'--help\')'
complete -c canary-smoke -s V -l version -d 'Print version'
