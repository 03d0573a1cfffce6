{{/* Labels of every object: config/default's part-of plus Helm's standard ones. */}}
{{- define "suture.labels" -}}
app.kubernetes.io/part-of: suture
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* The selector of Suture's pods (the same as config/default's, so the two can replace each other). */}}
{{- define "suture.selector" -}}
app.kubernetes.io/name: suture
app.kubernetes.io/component: manager
{{- end -}}
