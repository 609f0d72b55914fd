module pivotrl/sandboxes/runner

go 1.22
