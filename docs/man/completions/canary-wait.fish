complete -c canary-wait -l sha -d 'The build to wait for: a git sha of 7 to 40 hex characters (any case)' -r
complete -c canary-wait -l path -d 'The version endpoint polled on each tenant, relative to its base URL' -r
complete -c canary-wait -l field -d 'JSON pointer (RFC 6901) to the reported sha in the endpoint\'s response, such as /sha or /build/git_sha' -r
complete -c canary-wait -l if-no-sha -d 'What a tenant that serves no build sha at all means (its answers are JSON without --field, as GET /health of today\'s server). fail: it is named at once and fails the wait. proceed: it is named at once, still polled in case it starts to report one, and passed on unconfirmed when --timeout passes, as the old wait step did' -r -f -a "fail\t'Name it at once and fail the wait'
proceed\t'Name it at once and pass it on unconfirmed at the deadline'"
complete -c canary-wait -l timeout -d 'Deadline for the whole run: 90s, 7m, 1h, 1m30s or plain seconds' -r
complete -c canary-wait -l interval -d 'Time between two polls of one tenant, plus up to 20% jitter so the fleet is not polled in lock-step; longer (up to 8×) while a tenant answers with errors, or as its Retry-After asks' -r
complete -c canary-wait -l request-timeout -d 'Limit on one poll, connecting included [default: --interval, at least 5s and at most 10s]' -r
complete -c canary-wait -l misconfigured-after -d 'A tenant whose every answer for this long is HTTP 401, 403 or 404 is reported as misconfigured (wrong token, --path or org header) and fails; the run ends early when every tenant is' -r
complete -c canary-wait -l buildinfo -d 'Read the build from GET /buildinfo → {"git_sha":"…"}, the endpoint of newer workspace servers: the same as --path /buildinfo --field /git_sha'
complete -c canary-wait -l auth -d 'Send each tenant\'s bearer token and its `headers` with the polls. Without it, polls carry no credentials and no tenant headers (right for /health; SaaS tenants need their X-Molecule-Org-Id header, so --auth, on every other path)'
complete -c canary-wait -l proceed-on-timeout -d 'On timeout, write the tenants that are not ready to stdout anyway (marked "canary_wait":{"ready":true,"confirmed":false,…}), warn, and exit 0'
complete -c canary-wait -l insecure -d 'Allow tenants on plain http to hosts other than loopback (plain http to 127.0.0.0/8, [::1] and localhost is always allowed)'
complete -c canary-wait -l show-tokens -d 'Write tokens in full when stdout is a terminal (they are shown as *** there otherwise; a pipe always gets them)'
complete -c canary-wait -s v -l verbose -d 'Trace on stderr what the tool does: each HTTP request (method, URL, status, time, bytes, retry) and other steps; -vv adds headers and a body excerpt. Secrets show as ***. RUNNER_DEBUG=1 under GitHub Actions counts as -v'
complete -c canary-wait -s h -l help -d 'Print help (see more with \'--help\')'
complete -c canary-wait -s V -l version -d 'Print version'
