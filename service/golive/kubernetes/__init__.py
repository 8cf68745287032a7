"""Following Kubernetes Deployments as golive rollouts: `golive watch-kubernetes`.

See docs/orchestrators-kubernetes.md.
"""
