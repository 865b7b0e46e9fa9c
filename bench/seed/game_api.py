#!/usr/bin/env python
"""The seed's game API (Flask + kafka-python), as in the seed write-ups
(/work/shared/seeds: game_api.py / mobileGame_api.py), for the benchmark
bench/seed-vs-questlog.sh. Only the broker address changed: the seed had
'kafka:29092' (its Docker service); here it comes from $KAFKA_BOOTSTRAP.

Like the seed, producer.send() is fire-and-forget: the HTTP 200 goes out
before Kafka has the event (questlog answers only after the delivery report).
"""
import json
import os

from kafka import KafkaProducer
from flask import Flask, request

app = Flask(__name__)
producer = KafkaProducer(bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP", "kafka:29092").split(","))
events_topic = 'events'


def log_to_kafka(topic, event):
    event.update(request.headers)
    producer.send(topic, json.dumps(event).encode())


@app.route("/")
def default_response():
    default_event = {'event_type': 'default'}
    log_to_kafka(events_topic, default_event)
    return "This is the default response!\n"


@app.route("/purchase_a_sword")
def purchase_a_sword():
    purchase_sword_event = {'event_type': 'purchase_sword'}
    log_to_kafka(events_topic, purchase_sword_event)
    return "Sword Purchased!\n"


@app.route("/purchase_sword")
def purchase_sword():
    buy_sword_event = {'event_type': 'purchase_sword'}
    sword_parameter = request.args.to_dict()
    buy_sword_event.update(sword_parameter)
    log_to_kafka(events_topic, buy_sword_event)
    return "\nSword Purchased!\n"


@app.route("/join_guild")
def join_guild():
    join_guild_event = {'event_type': 'join_guild'}
    log_to_kafka(events_topic, join_guild_event)
    return "\nGuild joined!\n"
