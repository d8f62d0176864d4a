complete -c registry-tag -l list -d 'List every tag of IMAGE with its digest' -r
complete -c registry-tag -l expect-current -d 'Move a tag only if it currently points at DIGEST (a guard against racing promotions); for requests on stdin, the default of those without their own "expect_current"' -r
complete -c registry-tag -l timeout -d 'Deadline for the whole run: 500ms, 30s, 2m, 1h or plain seconds (so the old `--timeout 30` still works). No lookup, retry or move starts after it (a request under way may outlast it by --request-timeout); a move under way is finished or undone, never left half-done. No deadline by default' -r
complete -c registry-tag -l request-timeout -d 'Limit on each HTTP request (500ms, 30s, 2m, plain seconds). A write given up on after this long is treated as one that may still land' -r
complete -c registry-tag -l authfile -d 'A containers auth file (docker\'s `auths` format), tried after the environment and docker\'s config.json; default $REGISTRY_AUTH_FILE' -r -F
complete -c registry-tag -l atomic -d 'Resolve every source and destination first and change nothing if one is missing; if a move fails, restore the tags already moved and exit 1. (A tag that did not exist before cannot be removed again where the registry cannot delete tags, such as distribution 2.8: it is reported as not restored.)'
complete -c registry-tag -l dry-run -d 'Print what would change (records with "dry_run":true), change nothing'
complete -c registry-tag -l json -d 'Records (JSON lines) on stdout even on a terminal'
complete -c registry-tag -s q -l quiet -d 'Print only digests on stdout, one per line (and no per-tag lines on stderr)'
complete -c registry-tag -l insecure -d 'Allow plain http to non-loopback registries and token services'
complete -c registry-tag -s v -l verbose -d 'Trace on stderr what the tool does: each HTTP request (method, URL, status, time, bytes, retry) and other steps; -vv adds headers and a body excerpt. Secrets show as ***. RUNNER_DEBUG=1 under GitHub Actions counts as -v'
complete -c registry-tag -s h -l help -d 'Print help (see more with \'--help\')'
complete -c registry-tag -s V -l version -d 'Print version'
