complete -c tenant-list -s f -l file -d 'Read tenant JSON lines from FILE ("-" for stdin) instead of the environment' -r -F
complete -c tenant-list -s m -l match -d 'Keep only tenants whose name or URL matches PATTERN: a substring, or a glob over the whole name or URL when it contains * or ?' -r
complete -c tenant-list -l shard -d 'Emit only shard I of N (1-based): tenants are dealt round-robin in input order, so the N shards together hold every tenant exactly once' -r
complete -c tenant-list -l insecure -d 'Allow tenants on plain http to hosts other than loopback (plain http to 127.0.0.0/8, [::1] and localhost is always allowed)'
complete -c tenant-list -l show-tokens -d 'Write tokens in full when stdout is a terminal (they are shown as *** there otherwise; a pipe always gets them)'
complete -c tenant-list -s v -l verbose -d 'Trace on stderr what the tool does: each HTTP request (method, URL, status, time, bytes, retry) and other steps; -vv adds headers and a body excerpt. Secrets show as ***. RUNNER_DEBUG=1 under GitHub Actions counts as -v'
complete -c tenant-list -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tenant-list -s V -l version -d 'Print version'
