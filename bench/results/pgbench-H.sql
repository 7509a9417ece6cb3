-- pgbench script (what-if: without UPDATE outbox_head); raw XML bodies elided
\set k :k + 1
\set n :client_id * 1000000 + :k
select "mch_id", "appid", "out_trade_no", "total_fee", "fee_type", "status", "transaction_id", "paid_at_ms", "created_at_ms" from "orders" where "mch_id" = '10000100' and "out_trade_no" = 'H:n' limit '1';
BEGIN;
select "mch_id", "appid", "out_trade_no", "total_fee", "fee_type", "status", "transaction_id", "paid_at_ms", "created_at_ms" from "orders" where "mch_id" = '10000100' and "out_trade_no" = 'H:n' limit '1' for update;
update "orders" set "status" = 'PAID', "transaction_id" = '4200H:n', "paid_at_ms" = '1795752000000', "updated_at_ms" = '1795786086154' where "mch_id" = '10000100' and "out_trade_no" = 'H:n' and "status" = 'NOTPAY';
insert into "notifications" ("appid", "client_ip", "code", "fields_json", "mch_id", "out_trade_no", "outcome", "raw_body", "received_at_ms", "request_id", "result_code", "transaction_id") values ('wxd930ea5d5a258f4f', '127.0.0.1', 'OK', '{"appid":"wxd930ea5d5a258f4f","attach":"支付测试 & <测试>","bank_type":"CMC","cash_fee":"100","fee_type":"CNY","is_subscribe":"Y","mch_id":"10000100","nonce_str":"nH:n","openid":"oUpF8uMEb4qRXf22hE3X68TekukE","out_trade_no":"H:n","result_code":"SUCCESS","return_code":"SUCCESS","time_end":"20261127120000","total_fee":"100","trade_type":"JSAPI","transaction_id":"4200H:n","sign":"2DAE1FBA68D6C3769A6987C756988307"}', '10000100', 'H:n', 'PAID', '<xml>…</xml>', '1795786086137', '655d0f7e7a911321bade3ebd9ddbb534', 'SUCCESS', '4200H:n') returning "id";
select "id" from "payment_events" where "dedupe_key" = 'ORDER_PAID:10000100:H:n' limit '1';
insert into "payment_events" ("created_at_ms", "dedupe_key", "mch_id", "out_trade_no", "payload_json", "transaction_id", "type") values ('1795786086154', 'ORDER_PAID:10000100:H:n', '10000100', 'H:n', '{"mch_id":"10000100","appid":"wxd930ea5d5a258f4f","out_trade_no":"H:n","transaction_id":"4200H:n","total_fee":100,"fee_type":"CNY","paid_at":"2026-11-27T04:00:00.000Z","notification_id":161}', '4200H:n', 'ORDER_PAID');
COMMIT;
