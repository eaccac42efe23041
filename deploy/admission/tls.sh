#!/bin/sh
# A CA and a serving certificate for customs.customs.svc, the `customs-tls` secret, and the CA in
# webhook.yaml and mutating-webhook.yaml. (With cert-manager, issue the certificate there and use its CA injector instead.)
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" -subj "/CN=customs admission CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$dir/tls.key" -out "$dir/tls.csr" -subj "/CN=customs.customs.svc"
printf 'subjectAltName=DNS:customs.customs.svc,DNS:customs.customs.svc.cluster.local\n' > "$dir/ext"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 825 -extfile "$dir/ext" -out "$dir/tls.crt"
kubectl create namespace customs --dry-run=client -o yaml | kubectl apply -f -
kubectl -n customs create secret tls customs-tls --cert "$dir/tls.crt" --key "$dir/tls.key" \
  --dry-run=client -o yaml | kubectl apply -f -
ca=$(base64 < "$dir/ca.crt" | tr -d '\n')
for f in webhook.yaml mutating-webhook.yaml; do
  sed -i "s|caBundle: .*|caBundle: $ca|" "$(dirname "$0")/$f"
done
echo "customs-tls created; webhook.yaml and mutating-webhook.yaml now trust the CA"
