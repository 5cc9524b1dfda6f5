// nested maps read and written
def cfg = [deploy: [prod: [replicas: 3], dev: [replicas: 1]]]
println cfg.deploy.prod.replicas
println cfg['deploy']['dev']['replicas']
cfg.deploy.prod.replicas = 5
cfg.deploy.qa = [replicas: 2]
println cfg
println cfg.deploy.keySet()
println cfg.deploy.missing?.replicas
