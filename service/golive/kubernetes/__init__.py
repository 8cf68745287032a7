"""Following Kubernetes Deployments as golive rollouts: `golive watch-kubernetes`.

See docs/orchestrators.md, "Kubernetes".
"""
