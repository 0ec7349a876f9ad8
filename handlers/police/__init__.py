"""What ward police and their commander do in a private chat with the bot: the tip
queue, enrolment, broadcasts, drug-free records, pledges of organisations and the
monthly report. handlers/guards.py decides who may."""
