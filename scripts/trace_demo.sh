#!/usr/bin/env bash
# trace_demo.sh — the brief's demo: generate traces you can then watch in the viewer.
#
# Registers two users (or logs them in), adds funds, gives the seller shares, places two
# crossing orders, reads positions twice (a cache miss, then a hit), and provokes an error
# (an order the buyer cannot afford). Prints each step's HTTP status and trace id, and the
# viewer URL of each trace.
#
# Environment: FLOWEX_GATEWAY_URL (http://127.0.0.1:8347), FLOWEX_WALLET_SERVICE_URL
# (http://127.0.0.1:8104, for the demo-only share grant), FLOWEX_INTERNAL_TOKEN (else read
# from .flowex/internal-token), FLOWEX_VIEWER_URL (http://127.0.0.1:16686).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gateway="${FLOWEX_GATEWAY_URL:-http://127.0.0.1:8347}"
wallet="${FLOWEX_WALLET_SERVICE_URL:-http://127.0.0.1:8104}"
viewer="${FLOWEX_VIEWER_URL:-http://127.0.0.1:16686}"
internal_token="${FLOWEX_INTERNAL_TOKEN:-$(cat "$repo/.flowex/internal-token" 2>/dev/null || true)}"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }

tty=0; [[ -t 1 ]] && tty=1
bold() { (( tty )) && printf '\033[1m%s\033[0m' "$1" || printf '%s' "$1"; }

traces=()
status="" body="" trace=""
# call LABEL METHOD URL [TOKEN] [JSON] [EXTRA_HEADER]
call() {
  local label="$1" method="$2" url="$3" token="${4:-}" data="${5:-}" extra="${6:-}"
  local args=(-sS -X "$method" -D /dev/stdout -o "$tmp/body" --max-time 30)
  [[ -n "$token" ]] && args+=(-H "Authorization: Bearer $token")
  [[ -n "$extra" ]] && args+=(-H "$extra")
  [[ -n "$data" ]] && args+=(-d "$data")   # no Content-Type, exactly as the brief's curl lines
  local headers
  headers="$(curl "${args[@]}" "$url")" || { echo "  $label: could not reach $url" >&2; exit 1; }
  # awk reads all of its input: `head -1` would exit after the first line, and bash's printf,
  # which writes line by line, could then die of SIGPIPE and (pipefail, set -e) end the demo.
  status="$(printf '%s' "$headers" | awk 'NR == 1 {print $2}')"
  trace="$(printf '%s' "$headers" | tr -d '\r' | sed -n 's/^[Xx]-[Tt]race-[Ii]d: *//p' | tail -1)"
  body="$(cat "$tmp/body")"
  printf '  %-44s %s  trace %s\n' "$label" "$status" "${trace:--}"
  [[ -n "$trace" ]] && traces+=("$label|$trace")
  return 0
}
json_field() { sed -n "s/.*\"$1\" *: *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p" <<<"$body" | awk 'NR == 1'; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "$(bold 'flowex trace demo') against $gateway"
curl -fsS -o /dev/null --max-time 5 "$gateway/health" || { echo "client-gateway is not answering at $gateway (is 'make up' running?)" >&2; exit 1; }

token=""
login() {  # user → sets $token
  local user="$1"
  call "register $user" POST "$gateway/auth/register" "" "{\"username\":\"$user\",\"password\":\"demo-password-$user\"}"
  call "login $user" POST "$gateway/auth/login" "" "{\"username\":\"$user\",\"password\":\"demo-password-$user\"}"
  [[ "$status" == 200 ]] || { echo "login of $user failed: $body" >&2; exit 1; }
  token="$(json_field access_token)"
}
echo "$(bold 'Users')"
login demo_alice; alice_token="$token"
login demo_bob; bob_token="$token"

echo "$(bold 'Add funds flow')"
call "alice: POST /wallet/add-funds 1000" POST "$gateway/wallet/add-funds" "$alice_token" '{"amount": 1000}'
call "alice: POST /wallet/add-funds 776.25" POST "$gateway/wallet/add-funds" "$alice_token" '{"amount": 776.25}'
call "bob:   GET /v1/me" GET "$gateway/v1/me" "$bob_token"
bob_id="$(json_field user_id)"
if [[ -n "$internal_token" && -n "$bob_id" ]]; then
  call "bob:   demo shares (wallet-service grant)" POST "$wallet/admin/grant-shares" "" \
    "{\"user_id\":$bob_id,\"symbol\":\"AAPL\",\"quantity\":10,\"request_id\":\"demo-grant-$(date +%s%N)\"}" \
    "X-Internal-Token: $internal_token"
fi

echo "$(bold 'Order placement flow')"
call "bob:   SELL 10 AAPL @ 150" POST "$gateway/v1/order" "$bob_token" '{"symbol":"AAPL","side":"SELL","quantity":10,"price":150}'
call "alice: BUY 10 AAPL @ 150 (crosses)" POST "$gateway/v1/order" "$alice_token" '{"symbol":"AAPL","side":"BUY","quantity":10,"price":150}'
order_trace="$trace"

echo "$(bold 'Portfolio query flow')"
call "alice: GET /reports/positions (miss)" GET "$gateway/reports/positions" "$alice_token"
call "alice: GET /reports/positions (hit)" GET "$gateway/reports/positions" "$alice_token"

echo "$(bold 'An error to find with error=true')"
call "alice: BUY 600 AAPL @ 150 (no funds)" POST "$gateway/v1/order" "$alice_token" '{"symbol":"AAPL","side":"BUY","quantity":600,"price":150}'
error_trace="$trace"

echo
echo "$(bold 'Traces') (open them in the viewer):"
for t in "${traces[@]}"; do
  printf '  %-44s %s/trace/%s\n' "${t%%|*}" "$viewer" "${t##*|}"
done
echo
echo "The order:   $viewer/trace/${order_trace}"
echo "The error:   $viewer/search?service=client-gateway&tags=error%3Dtrue"
echo "In a terminal: build/bin/flowex trace ${order_trace}"
