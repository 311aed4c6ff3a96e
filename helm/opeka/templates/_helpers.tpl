{{/*
Naming, labels and the pod pieces shared by the service Deployments and the migration Job.
*/}}

{{/* Base name of every object: the release name unless overridden. */}}
{{- define "opeka.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<fullname>-<suffix>"; call with (list $ "suffix"). */}}
{{- define "opeka.name" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "opeka.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "opeka.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "opeka.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "opeka.labels" -}}
helm.sh/chart: {{ include "opeka.chart" . }}
{{ include "opeka.selectorLabels" . }}
app.kubernetes.io/version: {{ include "opeka.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: opeka
{{- end -}}

{{/* Labels of one component; call with (list $ "identity"). */}}
{{- define "opeka.componentLabels" -}}
{{ include "opeka.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "opeka.componentSelectorLabels" -}}
{{ include "opeka.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "opeka.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "opeka.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "opeka.imageTag" .) -}}
{{- end -}}

{{- define "opeka.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "opeka.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "opeka.secretName" -}}
{{- default (include "opeka.name" (list . "secrets")) .Values.existingSecret -}}
{{- end -}}

{{/*
The Secret a service's pods read their own credentials from: the chart's
per-service Secret, or the operator's existingSecret.
*/}}
{{- define "opeka.serviceSecretName" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- default (include "opeka.name" (list $root (printf "%s-secrets" $name))) $root.Values.existingSecret -}}
{{- end -}}

{{/*
A service's own secret settings, as a dict of variable -> value (values may be
empty: an empty key is left out of the chart's Secret and the service falls back
to its development key, which production refuses). Only services with a
database URL under database.urls get an entry.
*/}}
{{- define "opeka.serviceSecretEnv" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- $env := dict -}}
{{- $url := index (default dict $root.Values.database.urls) $name -}}
{{- if $url -}}
{{- $_ := set $env (printf "OPEKA_DATABASES__%s" (upper $name)) $url -}}
{{- end -}}
{{- if eq $name "identity" -}}{{- $_ := set $env "OPEKA_IDENTITY__SECRET_KEY" (default "" $root.Values.keys.identity) -}}{{- end -}}
{{- if eq $name "gateway" -}}{{- $_ := set $env "OPEKA_GATEWAY__SECRET_KEY" (default "" $root.Values.keys.gateway) -}}{{- end -}}
{{- if eq $name "notifications" -}}{{- $_ := set $env "OPEKA_NOTIFICATIONS__SECRET_KEY" (default "" $root.Values.secretKey) -}}{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{- define "opeka.configMapName" -}}
{{- include "opeka.name" (list . "config") -}}
{{- end -}}

{{/* Port name of a service's API listener: grpc or http. */}}
{{- define "opeka.portName" -}}
{{- default "http" .protocol -}}
{{- end -}}

{{/*
Non-secret environment shared by every container, as a dict. extraEnv wins over the
chart's own keys.
*/}}
{{- define "opeka.env" -}}
{{- $env := dict
  "OPEKA_LOG_FORMAT" "json"
  "OPEKA_ADMIN_ADDR" (printf "0.0.0.0:%d" (int .Values.admin.port))
  "OPEKA_BUS__ROOT" .Values.bus.root
  "OPEKA_ENVIRONMENT" (default "production" .Values.environment)
  "OPEKA_BUS__MAX_AGE_SECS" (printf "%d" (int64 .Values.bus.maxAgeSecs))
  "OPEKA_BUS__MAX_BYTES" (printf "%d" (int64 .Values.bus.maxBytes))
-}}
{{- range $name, $entry := .Values.services -}}
{{- $svc := include "opeka.serviceConfig" (list $ $entry) | fromYaml -}}
{{- if $svc.listenEnv -}}
{{- $_ := set $env $svc.listenEnv (printf "0.0.0.0:%d" (int $svc.port)) -}}
{{- end -}}
{{- if and $svc.enabled $svc.urlEnv -}}
{{- $names := $svc.urlEnv -}}
{{- if kindIs "string" $names -}}{{- $names = list $names -}}{{- end -}}
{{- range $n := $names -}}
{{- $_ := set $env $n (printf "http://%s:%d" (include "opeka.name" (list $ $name)) (int $svc.port)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- with .Values.otel.endpoint -}}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" . -}}
{{- end -}}
{{- with .Values.security -}}
{{- with .publicUrl -}}{{- $_ := set $env "OPEKA_GATEWAY__PUBLIC_URL" . -}}{{- end -}}
{{- $_ := set $env "OPEKA_GATEWAY__TRUSTED_PROXIES" (toString (.trustedProxies | default "")) -}}
{{- $_ := set $env "OPEKA_TRUSTED_FORWARDERS" (toString (.trustedForwarders | default "")) -}}
{{- end -}}
{{- with .Values.throttle -}}
{{- range $k, $v := dict "LOGIN_PER_ADDRESS" .loginPerAddress "RESET_REQUEST_PER_ADDRESS" .resetRequestPerAddress "RESET_GUESS_PER_ADDRESS" .resetGuessPerAddress "ASK_QUESTION_PER_ADDRESS" .askQuestionPerAddress "BOT_ACTIVATION_PER_CHAT" .botActivationPerChat -}}
{{- with $v -}}{{- $_ := set $env (printf "OPEKA_THROTTLE__%s" $k) (toString .) -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- range $k, $v := .Values.extraEnv -}}
{{- $_ := set $env $k (toString $v) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/* Pod-level settings shared by services and the migration Job. */}}
{{- define "opeka.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      {{- with .Values.tmpVolume.sizeLimit }}
      sizeLimit: {{ . }}
      {{- end }}
{{- end -}}

{{- define "opeka.podAnnotations" -}}
checksum/config: {{ include "opeka.env" . | sha256sum }}
{{- if not .Values.existingSecret }}
checksum/secret: {{ printf "%s|%s|%s|%s|%s" (toJson .Values.database) .Values.nats.url .Values.secretKey (toJson .Values.keys) "" | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Effective settings of one service, as YAML: serviceDefaults overlaid by the entry,
maps merged one level deep. Written out by hand because sprig's merge functions
treat false and 0 as unset, which would turn `enabled: false` back on.
Call with (list $ $entry); read back with fromYaml.
*/}}
{{- define "opeka.serviceConfig" -}}
{{- $root := index . 0 -}}
{{- $out := deepCopy (default dict $root.Values.serviceDefaults) -}}
{{- range $k, $v := (index . 1) -}}
{{- $base := get $out $k -}}
{{- if and (kindIs "map" $v) (kindIs "map" $base) -}}
{{- $m := deepCopy $base -}}
{{- range $k2, $v2 := $v -}}
{{- $_ := set $m $k2 $v2 -}}
{{- end -}}
{{- $_ := set $out $k $m -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
