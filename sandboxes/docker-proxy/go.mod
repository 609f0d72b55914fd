module pivotrl/sandboxes/docker-proxy

go 1.22
