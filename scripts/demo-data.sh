#!/usr/bin/env bash
# demo-data.sh — demo data for a running stack (`make up` runs it before ./trace_demo.sh).
#
# Creates the user demo_market_maker, funds it ($1,000,000), grants it 1,000 shares of every
# listed symbol, and has it quote every symbol: a BUY 100 one percent under and a SELL 100
# one percent over the last (else the reference) price, so market orders and crossing limit
# orders find liquidity. Safe to run again: the deposit, the grants and the quotes carry
# idempotency keys, so a second run changes nothing.
#
# Environment: FLOWEX_GATEWAY_URL (http://127.0.0.1:8347), FLOWEX_WALLET_SERVICE_URL
# (http://127.0.0.1:8104, for the demo-only share grant), FLOWEX_INTERNAL_TOKEN (else read
# from .flowex/internal-token).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gateway="${FLOWEX_GATEWAY_URL:-http://127.0.0.1:8347}"
wallet="${FLOWEX_WALLET_SERVICE_URL:-http://127.0.0.1:8104}"
internal_token="${FLOWEX_INTERNAL_TOKEN:-$(cat "$repo/.flowex/internal-token" 2>/dev/null || true)}"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
[[ -n "$internal_token" ]] || { echo "demo-data: no internal token (set FLOWEX_INTERNAL_TOKEN)" >&2; exit 1; }

user=demo_market_maker
password="demo-password-$user"

status="" body=""
# request METHOD URL [JSON] [HEADER...] → sets $status and $body
request() {
  local method="$1" url="$2" data="${3:-}"
  shift 3 || shift $#
  local args=(-sS -X "$method" -o "$tmp/body" -w '%{http_code}' --max-time 30)
  for h in "$@"; do args+=(-H "$h"); done
  [[ -n "$data" ]] && args+=(-H 'Content-Type: application/json' -d "$data")
  status="$(curl "${args[@]}" "$url")" || { echo "demo-data: could not reach $url" >&2; exit 1; }
  body="$(cat "$tmp/body")"
}
expect() {  # what, allowed statuses...
  local what="$1"; shift
  for s in "$@"; do [[ "$status" == "$s" ]] && return 0; done
  echo "demo-data: $what failed with HTTP $status: $body" >&2
  exit 1
}
cents_of() {  # "150.5" / "150.25" / "150" → cents
  local whole="${1%%.*}" frac=""
  [[ "$1" == *.* ]] && frac="${1#*.}"
  frac="${frac}00"
  echo $(( 10#$whole * 100 + 10#${frac:0:2} ))
}
dollars() { printf '%d.%02d' $(( $1 / 100 )) $(( $1 % 100 )); }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

request POST "$gateway/auth/register" "{\"username\":\"$user\",\"password\":\"$password\"}"
expect "registering $user" 201 409
request POST "$gateway/auth/login" "{\"username\":\"$user\",\"password\":\"$password\"}"
expect "logging in $user" 200
token="$(sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p' <<<"$body")"
auth="Authorization: Bearer $token"
request GET "$gateway/v1/me" "" "$auth"
expect "reading $user" 200
user_id="$(sed -n 's/.*"user_id" *: *\([0-9]*\).*/\1/p' <<<"$body")"

request POST "$gateway/wallet/add-funds" '{"amount": 1000000}' "$auth" "Idempotency-Key: demo-market-maker-funds"
expect "funding $user" 200 201

request GET "$gateway/v1/symbols" "" "$auth"
expect "listing the symbols" 200
# One line per symbol: SYMBOL REFERENCE LAST (LAST is "null" before the first trade).
symbols="$(tr -d ' \n' <<<"$body" | grep -o '{[^{}]*"symbol":"[A-Z.]*"[^{}]*}' |
  sed -n 's/.*"symbol":"\([A-Z.]*\)".*"reference_price":\([0-9.]*\).*"last_price":\(null\|[0-9.]*\).*/\1 \2 \3/p')"
[[ -n "$symbols" ]] || { echo "demo-data: no symbols in $body" >&2; exit 1; }

quoted=()
while read -r symbol reference last; do
  price="$reference"; [[ "$last" != null ]] && price="$last"
  mid="$(cents_of "$price")"
  bid=$(( mid * 99 / 100 )) ask=$(( (mid * 101 + 99) / 100 ))
  request POST "$wallet/admin/grant-shares" \
    "{\"user_id\":$user_id,\"symbol\":\"$symbol\",\"quantity\":1000,\"request_id\":\"demo-market-maker-grant-$symbol\"}" \
    "X-Internal-Token: $internal_token"
  expect "granting $symbol shares" 200 201
  request POST "$gateway/v1/order" \
    "{\"symbol\":\"$symbol\",\"side\":\"BUY\",\"quantity\":100,\"price\":$(dollars $bid),\"client_order_id\":\"demo-mm-$symbol-bid\"}" "$auth"
  expect "quoting the $symbol bid" 200 201
  request POST "$gateway/v1/order" \
    "{\"symbol\":\"$symbol\",\"side\":\"SELL\",\"quantity\":100,\"price\":$(dollars $ask),\"client_order_id\":\"demo-mm-$symbol-ask\"}" "$auth"
  expect "quoting the $symbol ask" 200 201
  quoted+=("$symbol $(dollars $bid)/$(dollars $ask)")
done <<<"$symbols"

echo "demo data: $user quotes ${#quoted[@]} symbols (bid/ask × 100): ${quoted[*]}"
