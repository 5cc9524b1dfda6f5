// reading nested config with safe navigation and Elvis defaults
def cfg = [deploy: [timeout: 30], notify: null]
println cfg.deploy?.timeout ?: 10
println cfg.notify?.slack ?: 'none'
println cfg.build?.jobs ?: 2
println cfg.get('deploy').get('timeout')
println((cfg.deploy.retries ?: 0) + 1)
