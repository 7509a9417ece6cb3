"""A second, independent gRPC client for payment.callback.v1: Python's grpcio (C core) with
message classes built at run time from the .proto files' descriptors. It shares no code with the
TypeScript service: not the stubs, not the signer. Prints one JSON object with what it saw.

usage: python_client.py TARGET DESCRIPTOR_SET TOKEN MCH_ID APPID API_KEY OUT_TRADE_NO
"""
import hashlib
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

target, descriptor_path, token, mch_id, appid, api_key, out_trade_no = sys.argv[1:8]

files = descriptor_pb2.FileDescriptorSet()
with open(descriptor_path, "rb") as f:
    files.ParseFromString(f.read())
pool = descriptor_pool.DescriptorPool()
for file in files.file:
    pool.Add(file)
factory = message_factory.MessageFactory(pool)
service = pool.FindServiceByName("payment.callback.v1.PaymentCallback")
channel = grpc.insecure_channel(target)


def method(name):
    m = service.methods_by_name[name]
    request = factory.GetPrototype(m.input_type)
    response = factory.GetPrototype(m.output_type)
    path = "/%s/%s" % (service.full_name, name)
    if m.server_streaming:
        call = channel.unary_stream(path, request_serializer=request.SerializeToString, response_deserializer=response.FromString)
    else:
        call = channel.unary_unary(path, request_serializer=request.SerializeToString, response_deserializer=response.FromString)
    return request, call


def to_dict(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


auth = [("authorization", "Bearer " + token)]
seen = {}

Req, create = method("CreateOrder")
seen["created"] = to_dict(create(Req(mch_id=mch_id, appid=appid, out_trade_no=out_trade_no, total_fee=888, fee_type="CNY"), metadata=auth, timeout=10))

# A notification signed here, with WeChat's documented v2 MD5 rule.
fields = {
    "appid": appid, "mch_id": mch_id, "nonce_str": "py" + out_trade_no, "out_trade_no": out_trade_no,
    "result_code": "SUCCESS", "return_code": "SUCCESS", "total_fee": "888", "cash_fee": "888", "fee_type": "CNY",
    "time_end": "20261127080910", "transaction_id": "4200py" + out_trade_no[-20:], "trade_type": "NATIVE",
    "openid": "oPython", "bank_type": "OTHERS", "attach": "互操作",
}
text = "&".join("%s=%s" % (k, fields[k]) for k in sorted(fields) if fields[k] != "") + "&key=" + api_key
fields["sign"] = hashlib.md5(text.encode("utf-8")).hexdigest().upper()
Req, handle = method("HandleNotify")
seen["notify"] = to_dict(handle(Req(fields=fields, raw_body=b"<xml/>", caller={"client_ip": "192.0.2.1", "request_id": "py-1"}), metadata=auth, timeout=10))

Req, get = method("GetOrder")
seen["order"] = to_dict(get(Req(mch_id=mch_id, out_trade_no=out_trade_no), metadata=auth, timeout=10))

Req, watch = method("WatchPaymentEvents")
stream = watch(Req(after_cursor=""), metadata=auth, timeout=10)
for event in stream:
    if event.out_trade_no == out_trade_no:
        seen["event"] = to_dict(event)
        stream.cancel()
        break

Req, list_notifications = method("ListNotifications")
seen["notifications"] = to_dict(list_notifications(Req(mch_id=mch_id, out_trade_no=out_trade_no), metadata=auth, timeout=10))

Req, get = method("GetOrder")
try:
    get(Req(mch_id=mch_id, out_trade_no=out_trade_no), timeout=10)
    seen["without_token"] = "OK"
except grpc.RpcError as e:
    seen["without_token"] = e.code().name

print(json.dumps(seen, ensure_ascii=False))
