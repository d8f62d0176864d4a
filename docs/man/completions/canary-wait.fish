complete -c canary-wait -l sha -d 'The build to wait for: a git sha of 7 to 40 hex characters (any case)' -r
complete -c canary-wait -l path -d 'The version endpoint polled on each tenant, relative to its base URL' -r
complete -c canary-wait -l field -d 'JSON pointer (RFC 6901) to the reported sha in the endpoint\'s response, such as /sha or /build/git_sha' -r
complete -c canary-wait -l timeout -d 'Give up this long after starting: 90s, 7m, 1h, 1m30s or plain seconds' -r
complete -c canary-wait -l interval -d 'Time between two polls of one tenant, varied by up to ±10% so the fleet is not polled in lock-step' -r
complete -c canary-wait -l request-timeout -d 'Limit on one poll, connecting included [default: --interval, at least 1s and at most 10s]' -r
complete -c canary-wait -l auth -d 'Send each tenant\'s bearer token and its `headers` with the polls. Without it, polls carry no credentials and no tenant headers (right for /health; SaaS tenants need their X-Molecule-Org-Id header, so --auth, on every other path)'
complete -c canary-wait -l proceed-on-timeout -d 'On timeout, write the tenants that are not ready to stdout anyway, warn, and exit 0'
complete -c canary-wait -l insecure -d 'Allow tenants on plain http to non-loopback hosts'
complete -c canary-wait -s h -l help -d 'Print help (see more with \'--help\')'
complete -c canary-wait -s V -l version -d 'Print version'
