import { Module } from '@nestjs/common';

/** Notification classes, routing, preferences and channels (issue 5). */
@Module({})
export class NotificationsModule {}
