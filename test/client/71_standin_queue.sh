#!/usr/bin/env bash
# The stand-in's provisioner queue: replicas x daemons slots, FIFO order,
# queue_position / queue_size, cancel of pending and running jobs, deletes
# through the same queue, and the queue-wait histogram.
source "$(dirname "$0")/standin/lib.sh"
standin_start Q --replicas 2 --daemons 2 --build-time 600ms --agent-delay 0 --seed 2
python3 "$STANDIN_HELPERS/api_test.py" queue "$Q_URL" "$Q_TOKEN"
